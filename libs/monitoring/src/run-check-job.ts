/**
 * A run-check job: check one (name, family) once, record the result for every tenant that watches
 * the name (fan-out), and hand back the events to dispatch after the commits. Idempotent: a job
 * redone after a crash finds its slot already stored for the targets it finished.
 */
import { type Clock, systemClock } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import type { EventRef, RunCheckPayload } from '@mailwarden/queue';
import { and, eq, isNull } from 'drizzle-orm';
import { type FamilyOutcome, recordRun } from './record-run.ts';
import type { DomainCheckOptions, FamilyRunners } from './runners.ts';

export interface RunCheckDeps {
  db: Database;
  runners: FamilyRunners;
  clock?: Clock;
  random?: () => number;
}

export interface RunCheckSummary {
  /** Distinct runs of the family's checks (one unless the targets declared different options). */
  runs: number;
  stored: number;
  skipped: number;
  events: EventRef[];
  /** Every event written, for live subscribers (GraphQL), alerting or not. */
  live: { tenantId: string; eventId: string; domainId: string; type: string }[];
}

async function loadOptions(
  db: Database,
  tenantId: string,
  domainId: string,
): Promise<DomainCheckOptions | undefined> {
  const { domains } = schema;
  const rows = await withTenant(db, tenantId, (tx) =>
    tx
      .select({
        dkimSelectors: domains.dkimSelectors,
        sendingIps: domains.sendingIps,
        probeOptions: domains.probeOptions,
      })
      .from(domains)
      .where(and(eq(domains.id, domainId), isNull(domains.deletedAt))),
  );
  return rows[0];
}

export async function runCheckJob(payload: RunCheckPayload, deps: RunCheckDeps): Promise<RunCheckSummary> {
  const clock = deps.clock ?? systemClock;
  const runner = deps.runners[payload.family];
  const slot = new Date(payload.slot);
  const groups = new Map<string, { options: DomainCheckOptions; targets: typeof payload.targets }>();
  let skipped = 0;
  for (const target of payload.targets) {
    const options = await loadOptions(deps.db, target.tenantId, target.domainId);
    if (!options) {
      skipped++;
      continue;
    }
    const key = runner ? runner.optionsKey(options) : '';
    const group = groups.get(key) ?? { options, targets: [] };
    group.targets.push(target);
    groups.set(key, group);
  }

  const summary: RunCheckSummary = { runs: 0, stored: 0, skipped, events: [], live: [] };
  for (const { options, targets } of groups.values()) {
    const startedAt = clock.now();
    const started = performance.now();
    let outcome: FamilyOutcome;
    if (!runner) {
      outcome = {
        family: payload.family,
        startedAt,
        durationMs: 0,
        results: [],
        error: `no checks are available for family ${payload.family}`,
      };
    } else {
      try {
        const run = await runner.run(payload.name, options);
        outcome = { family: payload.family, startedAt, durationMs: performance.now() - started, ...run };
      } catch (err) {
        // Checks return data; a throw is a bug. Record it (the schedule moves on, nothing resolves).
        outcome = {
          family: payload.family,
          startedAt,
          durationMs: performance.now() - started,
          results: [],
          error: err instanceof Error ? err.message : String(err),
        };
      }
      summary.runs++;
    }
    const now = clock.now();
    for (const target of targets) {
      const recorded = await recordRun(deps.db, target, slot, outcome, now, deps.random);
      if (recorded.stored) summary.stored++;
      else summary.skipped++;
      for (const eventId of recorded.eventIds) summary.events.push({ tenantId: target.tenantId, eventId });
      for (const event of recorded.written ?? [])
        summary.live.push({
          tenantId: target.tenantId,
          eventId: event.id,
          domainId: target.domainId,
          type: event.type,
        });
    }
  }
  return summary;
}
