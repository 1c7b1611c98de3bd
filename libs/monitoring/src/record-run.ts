/**
 * Stores one check-family run for one tenant's domain and turns what changed into events, all in
 * one transaction (DESIGN.md §2.4-2.5): the run, the findings diff (opened, still open, resolved,
 * reopened), the unknown streaks, the posture history, the next schedule slot, and the outbox
 * events. Either all of it is committed or none of it, so an event is never lost and never sent for
 * a rolled-back change; `(domain, family, slot)` is unique, so a job redone after a crash stores
 * nothing twice.
 */
import type { CheckResult, Finding, Posture, Severity } from '@mailwarden/checks';
import { severityRank } from '@mailwarden/checks';
import { uuidv7 } from '@mailwarden/core';
import { type CheckFamily, type Database, schema, type Tx, withTenant } from '@mailwarden/db';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { jitterFraction } from './families.ts';
import { findingFingerprint } from './fingerprint.ts';
import {
  clipEvidence,
  type EventDraft,
  gradeOrder,
  openedEvent,
  postureEvent,
  unknownReason,
} from './run-events.ts';

/** Two runs in a row that could not reach a verdict make an unknown worth an alert (issue 5 §4). */
export const untestableAfterRuns = 2;
/** A score move smaller than this, with the same grade, is not worth an event. */
export const postureEventMinPoints = 5;

export interface FamilyOutcome {
  family: CheckFamily;
  startedAt: Date;
  durationMs: number;
  /** One result per check the family ran. Empty with `error` when the runner itself failed. */
  results: readonly CheckResult<unknown>[];
  /** The posture of this run (the `dns` family scores the mail-authentication checks). */
  posture?: Posture | null;
  /** TXT strings at `_mailwarden.<name>`, or `unknown`; checked against each tenant's token. */
  verificationTxt?: readonly string[] | 'unknown';
  /** The runner threw: no verdict on anything, nothing resolved. */
  error?: string;
}

export interface RecordedRun {
  /** False when this slot was already stored (a redone job) or the domain is gone. */
  stored: boolean;
  runId?: string;
  /** Events that alert someone, to be dispatched after commit. */
  eventIds: string[];
  /** Every event written (alerting or not), for live subscribers after commit. */
  written?: { id: string; type: string }[];
}

type CheckStatus = CheckResult<unknown>['status'] | 'untestable';

/**
 * `<check>.lookup_unknown` says a lookup failed on the way: the check's verdict is partial. Such a
 * finding is not stored (it is a state of the run, kept in check_states and the run summary), and a
 * partial check resolves none of its findings — an absence we could not confirm is not a fix.
 */
function isLookupUnknown(finding: Finding): boolean {
  return finding.code.endsWith('.lookup_unknown');
}

function isUnknown(status: CheckStatus): boolean {
  return status === 'unknown' || status === 'untestable';
}

function runOutcome(outcome: FamilyOutcome): 'ok' | 'findings' | 'unknown' | 'error' {
  if (outcome.error !== undefined) return 'error';
  if (outcome.results.some((r) => isUnknown(r.status as CheckStatus))) return 'unknown';
  return outcome.results.some((r) => r.findings.length > 0) ? 'findings' : 'ok';
}

export async function recordRun(
  db: Database,
  target: { tenantId: string; domainId: string },
  slot: Date,
  outcome: FamilyOutcome,
  now: Date,
  random: () => number = Math.random,
): Promise<RecordedRun> {
  return withTenant(db, target.tenantId, (tx) => recordInTx(tx, target, slot, outcome, now, random));
}

async function recordInTx(
  tx: Tx,
  target: { tenantId: string; domainId: string },
  slot: Date,
  outcome: FamilyOutcome,
  now: Date,
  random: () => number,
): Promise<RecordedRun> {
  const { checkRuns, findings, checkStates, postureHistory, monitoringEvents } = schema;
  // The domain (locked: runs of one domain are serialised), the tenant's threshold and whether a
  // maintenance window is open — one round trip.
  const loaded = await tx.execute<{
    name: string;
    verified_at: string | null;
    verification_token: string;
    alert_threshold: Severity | null;
    posture_score: number | null;
    posture_grade: string | null;
    tenant_threshold: Severity | null;
    in_maintenance: boolean;
  }>(sql`
    select d.name, d.verified_at, d.verification_token, d.alert_threshold, d.posture_score, d.posture_grade,
           (select ts.alert_threshold from tenant_settings ts where ts.tenant_id = d.tenant_id) as tenant_threshold,
           exists(select 1 from maintenance_windows w
                   where w.starts_at <= ${now.toISOString()}::timestamptz and w.ends_at > ${now.toISOString()}::timestamptz
                     and (w.domain_id is null or w.domain_id = d.id)) as in_maintenance
      from domains d
     where d.id = ${target.domainId} and d.deleted_at is null
       for update of d`);
  const row0 = loaded.rows[0];
  if (!row0) return { stored: false, eventIds: [] };
  const domain = {
    name: row0.name,
    verifiedAt: row0.verified_at,
    verificationToken: row0.verification_token,
    alertThreshold: row0.alert_threshold,
    postureScore: row0.posture_score === null ? null : Number(row0.posture_score),
    postureGrade: row0.posture_grade,
  };

  const runId = uuidv7(now.getTime());
  const allFindings = outcome.results.flatMap((r) => r.findings.filter((f) => !isLookupUnknown(f)));
  const inserted = await tx
    .insert(checkRuns)
    .values({
      id: runId,
      tenantId: target.tenantId,
      domainId: target.domainId,
      family: outcome.family,
      slot,
      startedAt: outcome.startedAt,
      durationMs: Math.max(0, Math.round(outcome.durationMs)),
      outcome: runOutcome(outcome),
      summary: {
        checks: outcome.results.map((r) => ({
          check: r.check,
          status: r.status,
          findings: r.findings.length,
        })),
        ...(outcome.error !== undefined ? { error: outcome.error.slice(0, 500) } : {}),
      },
      findingCount: allFindings.length,
      postureScore: outcome.posture?.score ?? null,
    })
    .onConflictDoNothing({ target: [checkRuns.domainId, checkRuns.family, checkRuns.slot] })
    .returning({ id: checkRuns.id });
  if (inserted.length === 0) return { stored: false, eventIds: [] };

  const threshold: Severity = domain.alertThreshold ?? row0.tenant_threshold ?? 'medium';
  const inMaintenance = row0.in_maintenance === true;
  const events: EventDraft[] = [];
  const domainRef = { id: target.domainId, name: domain.name };

  // Findings: one row per fingerprint. Checks without a verdict (unknown) resolve nothing.
  const existing = await tx
    .select()
    .from(findings)
    .where(and(eq(findings.domainId, target.domainId), eq(findings.family, outcome.family)));
  const byFingerprint = new Map(existing.map((f) => [f.fingerprint, f]));
  const answeredChecks = new Set(
    outcome.error === undefined
      ? outcome.results
          .filter((r) => !isUnknown(r.status as CheckStatus) && !r.findings.some(isLookupUnknown))
          .map((r) => r.check as string)
      : [],
  );
  const seen = new Set<string>();

  function findingSuppression(
    severity: Severity,
    row?: { mutedUntil: Date | null; acknowledgedAt: Date | null; acknowledgedUntil: Date | null },
  ): string | null {
    if (inMaintenance) return 'maintenance';
    if (severityRank(severity) < severityRank(threshold)) return 'below_threshold';
    if (row?.mutedUntil && row.mutedUntil > now) return 'muted';
    if (row?.acknowledgedAt && (!row.acknowledgedUntil || row.acknowledgedUntil > now)) return 'acknowledged';
    return null;
  }

  const newRows: (typeof findings.$inferInsert)[] = [];
  const stillOpen: string[] = [];
  for (const result of outcome.results) {
    for (const finding of result.findings) {
      if (isLookupUnknown(finding)) continue;
      const fingerprint = findingFingerprint(finding.code, finding.subject);
      if (seen.has(fingerprint)) continue;
      seen.add(fingerprint);
      const row = byFingerprint.get(fingerprint);
      const evidence = clipEvidence(finding.evidence);
      if (!row) {
        const id = uuidv7(now.getTime());
        newRows.push({
          id,
          tenantId: target.tenantId,
          domainId: target.domainId,
          family: outcome.family,
          check: result.check,
          fingerprint,
          code: finding.code,
          severity: finding.severity,
          subject: finding.subject,
          message: finding.message,
          evidence,
          state: 'open',
          firstSeenAt: now,
          openedAt: now,
          lastSeenAt: now,
        });
        events.push(
          openedEvent(
            domainRef,
            { id, check: result.check, firstSeenAt: now },
            finding,
            now,
            false,
            findingSuppression(finding.severity),
          ),
        );
      } else if (row.state === 'resolved') {
        await tx
          .update(findings)
          .set({
            state: 'open',
            openedAt: now,
            lastSeenAt: now,
            resolvedAt: null,
            severity: finding.severity,
            message: finding.message,
            evidence,
            // An acknowledgement was for the previous occurrence; a mute with time left still holds.
            acknowledgedAt: null,
            acknowledgedBy: null,
            acknowledgedUntil: null,
          })
          .where(eq(findings.id, row.id));
        events.push(
          openedEvent(
            domainRef,
            { id: row.id, check: row.check, firstSeenAt: row.firstSeenAt },
            finding,
            now,
            true,
            findingSuppression(finding.severity, { ...row, acknowledgedAt: null }),
          ),
        );
      } else if (
        row.severity !== finding.severity ||
        row.message !== finding.message ||
        JSON.stringify(row.evidence) !== JSON.stringify(evidence)
      ) {
        await tx
          .update(findings)
          .set({ lastSeenAt: now, severity: finding.severity, message: finding.message, evidence })
          .where(eq(findings.id, row.id));
      } else {
        stillOpen.push(row.id);
      }
    }
  }
  if (newRows.length > 0) await tx.insert(findings).values(newRows);
  // Unchanged open findings: one statement for all of them (the common case of a steady domain).
  if (stillOpen.length > 0)
    await tx.update(findings).set({ lastSeenAt: now }).where(inArray(findings.id, stillOpen));
  const resolvedRows = existing.filter(
    (row) => row.state === 'open' && !seen.has(row.fingerprint) && answeredChecks.has(row.check),
  );
  if (resolvedRows.length > 0) {
    await tx
      .update(findings)
      .set({ state: 'resolved', resolvedAt: now })
      .where(
        inArray(
          findings.id,
          resolvedRows.map((r) => r.id),
        ),
      );
  }
  for (const row of resolvedRows) {
    events.push({
      type: 'finding.resolved',
      severity: row.severity,
      payload: {
        domain: domainRef,
        finding: {
          id: row.id,
          code: row.code,
          check: row.check,
          severity: row.severity,
          subject: row.subject,
          message: row.message,
          evidence: row.evidence,
          firstSeenAt: row.firstSeenAt.toISOString(),
          lastSeenAt: row.lastSeenAt.toISOString(),
          resolvedAt: now.toISOString(),
        },
        openedAt: row.openedAt.toISOString(),
      },
      suppressed: findingSuppression(row.severity, { ...row, acknowledgedAt: null, mutedUntil: null }),
    });
  }

  // Unknown streaks per check: the second unknown in a row is confirmed and alerts once.
  const states = await tx.select().from(checkStates).where(eq(checkStates.domainId, target.domainId));
  const stateByCheck = new Map(states.map((s) => [s.check, s]));
  const stateRows: (typeof checkStates.$inferInsert)[] = [];
  for (const result of outcome.results) {
    const status = result.status as CheckStatus;
    const previous = stateByCheck.get(result.check);
    const unknown = isUnknown(status);
    const streak = unknown ? (previous?.consecutiveUnknown ?? 0) + 1 : 0;
    const report = unknown && streak >= untestableAfterRuns && !previous?.untestableReported;
    // A steady check writes nothing: same status, no streak before or now.
    const unchanged =
      previous !== undefined &&
      previous.status === status &&
      streak === 0 &&
      previous.consecutiveUnknown === 0 &&
      !previous.untestableReported;
    if (!unchanged)
      stateRows.push({
        tenantId: target.tenantId,
        domainId: target.domainId,
        check: result.check,
        status,
        consecutiveUnknown: streak,
        untestableReported: unknown && (report || (previous?.untestableReported ?? false)),
        updatedAt: now,
      });
    if (report) {
      events.push({
        type: 'check.untestable',
        severity: 'medium',
        payload: {
          domain: domainRef,
          check: result.check,
          family: outcome.family,
          reason: unknownReason(result),
          detail: `${streak} runs in a row without an answer`,
          consecutiveRuns: streak,
          since: (previous?.status && isUnknown(previous.status as CheckStatus)
            ? previous.updatedAt
            : now
          ).toISOString(),
        },
        suppressed: inMaintenance ? 'maintenance' : null,
      });
    }
  }

  if (stateRows.length > 0) {
    await tx
      .insert(checkStates)
      .values(stateRows)
      .onConflictDoUpdate({
        target: [checkStates.domainId, checkStates.check],
        set: {
          status: sql`excluded.status`,
          consecutiveUnknown: sql`excluded.consecutive_unknown`,
          untestableReported: sql`excluded.untestable_reported`,
          updatedAt: sql`excluded.updated_at`,
        },
      });
  }

  // Posture: history when the score or grade moves (a step series: each point holds until the next;
  // runs keep every score); events only when complete and moved enough.
  const posture = outcome.posture;
  let setPosture = false;
  let verifiedNow = false;
  if (
    posture &&
    posture.score !== null &&
    posture.grade !== null &&
    (posture.score !== domain.postureScore || posture.grade !== domain.postureGrade)
  ) {
    await tx
      .insert(postureHistory)
      .values({
        tenantId: target.tenantId,
        domainId: target.domainId,
        recordedAt: now,
        score: posture.score,
        grade: posture.grade,
        partial: posture.partial,
        runId,
      })
      .onConflictDoNothing();
    const before = domain.postureScore;
    const beforeGrade = domain.postureGrade;
    if (!posture.partial) {
      if (before !== null && beforeGrade !== null) {
        const gradeMove = gradeOrder(posture.grade) - gradeOrder(beforeGrade);
        const delta = posture.score - before;
        const moved = gradeMove !== 0 || Math.abs(delta) >= postureEventMinPoints;
        if (moved && (gradeMove < 0 || (gradeMove === 0 && delta < 0))) {
          events.push(
            postureEvent('posture.degraded', domainRef, before, beforeGrade, posture, inMaintenance),
          );
        } else if (moved && (gradeMove > 0 || (gradeMove === 0 && delta > 0))) {
          events.push(
            postureEvent('posture.improved', domainRef, before, beforeGrade, posture, inMaintenance),
          );
        }
      }
      setPosture = true;
    } else if (before === null) {
      // A first, partial score is still better than none on a dashboard; it is flagged in history.
      setPosture = true;
    }
  }

  // Ownership: the token published at _mailwarden.<name> verifies the domain (issue 5 §1).
  if (!domain.verifiedAt && Array.isArray(outcome.verificationTxt)) {
    const wanted = verificationValue(domain.verificationToken);
    if (outcome.verificationTxt.some((txt) => txt.trim() === wanted)) {
      verifiedNow = true;
      events.push({
        type: 'domain.verified',
        severity: 'info',
        payload: { domain: domainRef, verifiedAt: now.toISOString(), method: 'dns_txt' },
        suppressed: null,
      });
    }
  }
  // The domain's summary columns and the family's next slot (interval ±10 % jitter), one statement.
  const factor = 1 + (random() * 2 - 1) * jitterFraction;
  const nowText = now.toISOString();
  await tx.execute(sql`
    with schedule as (
      update domain_schedules
         set last_run_at = ${nowText}::timestamptz,
             next_run_at = ${nowText}::timestamptz + make_interval(secs => interval_seconds * ${factor}::float8)
       where domain_id = ${target.domainId} and family = ${outcome.family}
      returning 1)
    update domains
       set last_checked_at = ${nowText}::timestamptz,
           updated_at = ${nowText}::timestamptz,
           posture_score = case when ${setPosture} then ${setPosture ? posture!.score : null}::smallint else posture_score end,
           posture_grade = case when ${setPosture} then ${setPosture ? posture!.grade : null}::text else posture_grade end,
           verified_at = case when ${verifiedNow} then ${nowText}::timestamptz else verified_at end
     where id = ${target.domainId}`);

  const eventIds: string[] = [];
  if (events.length > 0) {
    const rows = events.map((e) => ({
      id: uuidv7(now.getTime()),
      tenantId: target.tenantId,
      domainId: target.domainId,
      type: e.type,
      severity: e.severity,
      payload: e.payload,
      suppressed: e.suppressed,
      occurredAt: now,
    }));
    await tx.insert(monitoringEvents).values(rows);
    for (const row of rows) if (row.suppressed === null) eventIds.push(row.id);
    return { stored: true, runId, eventIds, written: rows.map((r) => ({ id: r.id, type: r.type })) };
  }
  return { stored: true, runId, eventIds, written: [] };
}

/** The TXT value a tenant publishes at `_mailwarden.<domain>`. */
export function verificationValue(token: string): string {
  return `mailwarden-verification=${token}`;
}
