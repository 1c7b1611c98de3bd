/**
 * The diff of a check-family run against what its domain had (DESIGN.md §2.4-2.5), with no I/O:
 * findings opened, seen again, reopened and resolved; unknown streaks; posture; verification; the
 * next slot; and the events all of that makes. record-run.ts loads the domain's rows, hands them
 * here and writes the rows this adds to `Changes` in one statement.
 */
import type { CheckResult, Finding, Posture, Severity } from '@mailwarden/checks';
import { severityRank } from '@mailwarden/checks';
import { uuidv7 } from '@mailwarden/core';
import type { CheckFamily } from '@mailwarden/db';
import { jitterFraction } from './families.ts';
import { findingFingerprint } from './fingerprint.ts';
import type { Changes, CheckStateLoaded, FindingRowLoaded, LockedDomain } from './record-statements.ts';
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
export function isLookupUnknown(finding: Finding): boolean {
  return finding.code.endsWith('.lookup_unknown');
}

function isUnknown(status: CheckStatus): boolean {
  return status === 'unknown' || status === 'untestable';
}

export function runOutcome(outcome: FamilyOutcome): 'ok' | 'findings' | 'unknown' | 'error' {
  if (outcome.error !== undefined) return 'error';
  if (outcome.results.some((r) => isUnknown(r.status as CheckStatus))) return 'unknown';
  return outcome.results.some((r) => r.findings.length > 0) ? 'findings' : 'ok';
}

/** One run to record for one target (a tenant's domain). */
export interface RunToRecord {
  target: { tenantId: string; domainId: string };
  slot: Date;
  outcome: FamilyOutcome;
  /** When the run's checks finished: the time of its findings, events and next slot. */
  now: Date;
}

export interface Prepared {
  run: RunToRecord;
  runId: string;
  domain: LockedDomain;
  inMaintenance: boolean;
}

/**
 * The diff of one run against what its domain had: findings opened, seen again, reopened and
 * resolved, unknown streaks, posture, verification, the next slot, and the events they make. Adds
 * the rows to write to `changes` and returns what the run recorded.
 */
export function diffRun(
  item: Prepared,
  current: readonly FindingRowLoaded[],
  states: readonly CheckStateLoaded[],
  changes: Changes,
  random: () => number,
): RecordedRun {
  const { run, runId, domain: row0, inMaintenance } = item;
  const { outcome, now, target } = run;
  const nowText = now.toISOString();
  const domain = {
    name: row0.name,
    verifiedAt: row0.verified_at,
    verificationToken: row0.verification_token,
    alertThreshold: row0.alert_threshold,
    postureScore: row0.posture_score === null ? null : Number(row0.posture_score),
    postureGrade: row0.posture_grade,
  };
  const threshold: Severity = domain.alertThreshold ?? row0.tenant_threshold ?? 'medium';
  const events: EventDraft[] = [];
  const domainRef = { id: target.domainId, name: domain.name };

  // Findings: one row per fingerprint. Checks without a verdict (unknown) resolve nothing.
  const existing = current.map((f) => ({
    id: f.id,
    check: f.check,
    fingerprint: f.fingerprint,
    code: f.code,
    severity: f.severity,
    subject: f.subject,
    message: f.message,
    evidence: f.evidence,
    state: f.state,
    // Times stay text until a reopened or resolved finding needs them.
    times: f,
  }));
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
        changes.newFindings.push({
          id,
          domain_id: target.domainId,
          family: outcome.family,
          check: result.check,
          fingerprint,
          code: finding.code,
          severity: finding.severity,
          subject: finding.subject,
          message: finding.message,
          evidence,
          now: nowText,
        });
        events.push(
          openedEvent(
            domainRef,
            { id, check: result.check, firstSeenAt: now },
            finding,
            evidence,
            now,
            false,
            findingSuppression(finding.severity),
          ),
        );
      } else if (row.state === 'resolved') {
        changes.findingChanges.push({
          id: row.id,
          domain_id: target.domainId,
          kind: 'reopen',
          now: nowText,
          severity: finding.severity,
          message: finding.message,
          evidence,
        });
        events.push(
          openedEvent(
            domainRef,
            { id: row.id, check: row.check, firstSeenAt: new Date(row.times.first_seen_at) },
            finding,
            evidence,
            now,
            true,
            // An acknowledgement was for the previous occurrence; a mute with time left still holds.
            findingSuppression(finding.severity, {
              mutedUntil: dateOrNull(row.times.muted_until),
              acknowledgedAt: null,
              acknowledgedUntil: null,
            }),
          ),
        );
      } else if (
        row.severity !== finding.severity ||
        row.message !== finding.message ||
        !sameJson(row.evidence, evidence)
      ) {
        changes.findingChanges.push({
          id: row.id,
          domain_id: target.domainId,
          kind: 'change',
          now: nowText,
          severity: finding.severity,
          message: finding.message,
          evidence,
        });
      } else {
        // Unchanged and open: only seen again (the common case of a steady domain).
        changes.findingChanges.push({ id: row.id, domain_id: target.domainId, kind: 'seen', now: nowText });
      }
    }
  }
  const resolvedRows = existing.filter(
    (row) => row.state === 'open' && !seen.has(row.fingerprint) && answeredChecks.has(row.check),
  );
  for (const row of resolvedRows) {
    changes.findingChanges.push({ id: row.id, domain_id: target.domainId, kind: 'resolve', now: nowText });
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
          firstSeenAt: new Date(row.times.first_seen_at).toISOString(),
          lastSeenAt: new Date(row.times.last_seen_at).toISOString(),
          resolvedAt: nowText,
        },
        openedAt: new Date(row.times.opened_at).toISOString(),
      },
      // An acknowledgement or mute is about alerts while open: the fix itself alerts.
      suppressed: findingSuppression(row.severity),
    });
  }

  // Unknown streaks per check: the second unknown in a row is confirmed and alerts once.
  const stateByCheck = new Map(
    states.map((s) => [
      s.check,
      {
        status: s.status,
        consecutiveUnknown: s.consecutive_unknown,
        untestableReported: s.untestable_reported,
        updatedAt: s.updated_at,
      },
    ]),
  );
  for (const result of outcome.results) {
    const status = result.status as CheckStatus;
    const previous = stateByCheck.get(result.check);
    const unknown = isUnknown(status);
    const streak = unknown ? (previous?.consecutiveUnknown ?? 0) + 1 : 0;
    const report = unknown && streak >= untestableAfterRuns && !previous?.untestableReported;
    // Only streaks need a row. A check that has always answered has none (a first sweep would
    // otherwise write one per check and domain: a third of its rows); a check that had a streak
    // keeps its row, written again when its status moves. A steady check writes nothing.
    const unchanged =
      previous === undefined
        ? streak === 0
        : previous.status === status &&
          streak === 0 &&
          previous.consecutiveUnknown === 0 &&
          !previous.untestableReported;
    if (!unchanged)
      changes.states.push({
        domain_id: target.domainId,
        check: result.check,
        status,
        consecutive_unknown: streak,
        untestable_reported: unknown && (report || (previous?.untestableReported ?? false)),
        now: nowText,
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
            ? new Date(previous.updatedAt)
            : now
          ).toISOString(),
        },
        suppressed: inMaintenance ? 'maintenance' : null,
      });
    }
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
    changes.posture.push({
      domain_id: target.domainId,
      now: nowText,
      score: posture.score,
      grade: posture.grade,
      partial: posture.partial,
      run_id: runId,
    });
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
        payload: { domain: domainRef, verifiedAt: nowText, method: 'dns_txt' },
        suppressed: null,
      });
    }
  }
  // The domain's summary columns and the family's next slot (interval ±10 % jitter).
  changes.domains.push({
    domain_id: target.domainId,
    family: outcome.family,
    now: nowText,
    factor: 1 + (random() * 2 - 1) * jitterFraction,
    set_posture: setPosture,
    score: setPosture ? posture!.score : null,
    grade: setPosture ? posture!.grade : null,
    verified: verifiedNow,
  });

  const eventIds: string[] = [];
  const written: { id: string; type: string }[] = [];
  for (const e of events) {
    const id = uuidv7(now.getTime());
    // Whom it alerts is the dispatcher's question (libs/alerts); with no enabled endpoint at all
    // the answer is nobody, so the event is dispatched as written and costs no dispatch job.
    const dispatchNow = e.suppressed === null && !row0.has_endpoints;
    changes.events.push({
      id,
      domain_id: target.domainId,
      type: e.type,
      severity: e.severity,
      payload: e.payload,
      suppressed: e.suppressed,
      now: nowText,
      dispatched: dispatchNow,
    });
    if (e.suppressed === null && !dispatchNow) eventIds.push(id);
    written.push({ id, type: e.type });
  }
  return { stored: true, runId, eventIds, written };
}

function dateOrNull(text: string | null): Date | null {
  return text === null ? null : new Date(text);
}

/** jsonb keeps object keys in its own order: compare evidence as values, not as text. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((v, i) => sameJson(v, other[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left).filter((k) => left[k] !== undefined);
  const otherKeys = Object.keys(right).filter((k) => right[k] !== undefined);
  return keys.length === otherKeys.length && keys.every((k) => sameJson(left[k], right[k]));
}

/** The TXT value a tenant publishes at `_mailwarden.<domain>`. */
export function verificationValue(token: string): string {
  return `mailwarden-verification=${token}`;
}
