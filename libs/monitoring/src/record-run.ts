/**
 * Stores check-family runs of one tenant's domains and turns what changed into events, all in one
 * transaction (DESIGN.md §2.4-2.5): per run, the run itself, the findings diff (opened, still open,
 * resolved, reopened), the unknown streaks, the posture history, the next schedule slot, and the
 * outbox events. Either all of it is committed or none of it, so an event is never lost and never
 * sent for a rolled-back change; `(domain, family, slot)` is unique, so a job redone after a crash
 * stores nothing twice. The diff itself is run-diff.ts (no I/O); the statements are set-based
 * (record-statements.ts): a batch of runs costs the round trips of one; run-recorder.ts gathers the
 * batches.
 */
import { uuidv7 } from '@mailwarden/core';
import { type Database, type TenantClient, withTenantClient } from '@mailwarden/db';
import {
  type Changes,
  type CheckStateLoaded,
  type FindingRowLoaded,
  loadedRows,
  loadText,
  writeChangesStatement,
} from './record-statements.ts';
import {
  diffRun,
  type FamilyOutcome,
  isLookupUnknown,
  type RecordedRun,
  type RunToRecord,
  runOutcome,
} from './run-diff.ts';

export {
  type FamilyOutcome,
  postureEventMinPoints,
  type RecordedRun,
  type RunToRecord,
  untestableAfterRuns,
  verificationValue,
} from './run-diff.ts';

export async function recordRun(
  db: Database,
  target: { tenantId: string; domainId: string },
  slot: Date,
  outcome: FamilyOutcome,
  now: Date,
  random: () => number = Math.random,
): Promise<RecordedRun> {
  const [recorded] = await recordRuns(db, target.tenantId, [{ target, slot, outcome, now }], random);
  return recorded!;
}

/**
 * Records runs of one tenant's domains in one transaction, with the same statements whatever their
 * number (record-statements.ts): the batch's domains locked and their state read in the round trip
 * that opens the transaction, every change written in one statement (a slot stored before is
 * skipped), COMMIT. Results come back in the order of `runs`. A domain with several runs in the
 * batch (two families, or two slots) has them recorded one after the other.
 */
export async function recordRuns(
  db: Database,
  tenantId: string,
  runs: readonly RunToRecord[],
  random: () => number = Math.random,
): Promise<RecordedRun[]> {
  for (const run of runs)
    if (run.target.tenantId !== tenantId) throw new Error('recordRuns takes the runs of one tenant');
  const results: RecordedRun[] = new Array(runs.length);
  if (runs.length === 0) return results;
  // Rounds in which each domain appears once: no row is written twice by one statement.
  const rounds: RunToRecord[][] = [];
  const roundOf = new Map<string, number>();
  const indexOf = new Map<RunToRecord, number>();
  runs.forEach((run, i) => {
    const round = roundOf.get(run.target.domainId) ?? 0;
    roundOf.set(run.target.domainId, round + 1);
    if (!rounds[round]) rounds[round] = [];
    rounds[round].push(run);
    indexOf.set(run, i);
  });
  const loadOf = (round: readonly RunToRecord[]) =>
    loadText(round.map((r) => ({ domainId: r.target.domainId, family: r.outcome.family, now: r.now })));
  await withTenantClient(
    db,
    tenantId,
    async (client, opened) => {
      for (const [n, round] of rounds.entries()) {
        const loaded = n === 0 ? opened : ((await client.query(loadOf(round))) as unknown as QueryResults);
        const recorded = await recordRound(client, tenantId, round, loadedRows(loaded), random);
        round.forEach((run, k) => {
          results[indexOf.get(run)!] = recorded[k]!;
        });
      }
    },
    loadOf(rounds[0]!),
  );
  return results;
}

type QueryResults = Parameters<typeof loadedRows>[0];

async function recordRound(
  client: TenantClient,
  tenantId: string,
  runs: readonly RunToRecord[],
  loaded: ReturnType<typeof loadedRows>,
  random: () => number,
): Promise<RecordedRun[]> {
  const domainById = new Map(loaded.domains.map((d) => [d.id, d]));
  const findingsOf = new Map<string, FindingRowLoaded[]>();
  for (const f of loaded.findings) {
    const list = findingsOf.get(f.domain_id) ?? [];
    list.push(f);
    findingsOf.set(f.domain_id, list);
  }
  const statesOf = new Map<string, CheckStateLoaded[]>();
  for (const c of loaded.states) {
    const list = statesOf.get(c.domain_id) ?? [];
    list.push(c);
    statesOf.set(c.domain_id, list);
  }
  const changes: Changes = {
    runs: [],
    newFindings: [],
    findingChanges: [],
    states: [],
    posture: [],
    domains: [],
    events: [],
  };
  const diffs = new Map<RunToRecord, RecordedRun>();
  for (const run of runs) {
    const domain = domainById.get(run.target.domainId);
    // A domain deleted meanwhile (or never this tenant's) stores nothing.
    if (!domain) continue;
    const { outcome, now } = run;
    const at = now.getTime();
    const inMaintenance = loaded.windows.some(
      (w) =>
        w.starts_at.getTime() <= at &&
        w.ends_at.getTime() > at &&
        (w.domain_id === null || w.domain_id === domain.id),
    );
    const runId = uuidv7(at);
    changes.runs.push({
      id: runId,
      domain_id: run.target.domainId,
      family: outcome.family,
      slot: run.slot.toISOString(),
      started_at: outcome.startedAt.toISOString(),
      duration_ms: Math.max(0, Math.round(outcome.durationMs)),
      outcome: runOutcome(outcome),
      summary: {
        checks: outcome.results.map((r) => ({
          check: r.check,
          status: r.status,
          findings: r.findings.length,
        })),
        ...(outcome.error !== undefined ? { error: outcome.error.slice(0, 500) } : {}),
      },
      finding_count: outcome.results.reduce(
        (n, r) => n + r.findings.filter((f) => !isLookupUnknown(f)).length,
        0,
      ),
      posture_score: outcome.posture?.score ?? null,
    });
    const current = (findingsOf.get(domain.id) ?? []).filter((f) => f.family === outcome.family);
    diffs.set(
      run,
      diffRun({ run, runId, domain, inMaintenance }, current, statesOf.get(domain.id) ?? [], changes, random),
    );
  }
  // The diff of a run whose slot was stored before (a redone job) is not written: the statement
  // takes only the rows of domains whose run it inserted.
  const stored = diffs.size > 0 ? await writeChangesStatement(client, tenantId, changes) : new Set<string>();
  return runs.map((run) =>
    stored.has(run.target.domainId) ? diffs.get(run)! : { stored: false, eventIds: [] },
  );
}
