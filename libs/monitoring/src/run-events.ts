/**
 * The events a recorded run writes to the outbox, in the payload shapes of libs/alerts
 * (`EventDataMap`), which re-picks them on dispatch.
 */
import type { CheckResult, Finding, Posture, Severity } from '@mailwarden/checks';
import type { EventType } from '@mailwarden/db';

export interface EventDraft {
  type: EventType;
  severity: Severity | null;
  payload: Record<string, unknown>;
  suppressed: string | null;
}

/** Evidence is shown to people and sent in webhooks; a 10 000-string TXT answer is not. */
export function clipEvidence(evidence: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(evidence);
  return text.length <= 16_384 ? evidence : { truncated: true, excerpt: text.slice(0, 16_384) };
}

const GRADES = ['F', 'D', 'C', 'B', 'A', 'A+'];
export function gradeOrder(grade: string): number {
  return GRADES.indexOf(grade);
}

/**
 * The payload shapes are those of libs/alerts (`EventDataMap`), which re-picks them on dispatch.
 * `evidence` is the finding's evidence already clipped (the caller stores the same).
 */
export function openedEvent(
  domain: { id: string; name: string },
  row: { id: string; check: string; firstSeenAt: Date },
  finding: Finding,
  evidence: Record<string, unknown>,
  now: Date,
  reopened: boolean,
  suppressed: string | null,
): EventDraft {
  return {
    type: 'finding.opened',
    severity: finding.severity,
    payload: {
      domain,
      finding: {
        id: row.id,
        code: finding.code,
        check: row.check,
        severity: finding.severity,
        subject: finding.subject,
        message: finding.message,
        evidence,
        firstSeenAt: row.firstSeenAt.toISOString(),
        lastSeenAt: now.toISOString(),
        resolvedAt: null,
      },
      reopened,
    },
    suppressed,
  };
}

/** The first stable reason a result gives for having no verdict (facts of unknown results carry one). */
export function unknownReason(result: CheckResult<unknown>): string {
  const facts = (result.facts ?? {}) as Record<string, unknown>;
  for (const key of ['reason', 'failure', 'unknownReason'])
    if (typeof facts[key] === 'string') return facts[key] as string;
  return 'unknown';
}

export function postureEvent(
  type: 'posture.degraded' | 'posture.improved',
  domain: { id: string; name: string },
  beforeScore: number,
  beforeGrade: string,
  posture: Posture,
  inMaintenance: boolean,
): EventDraft {
  return {
    type,
    severity: type === 'posture.degraded' ? 'medium' : 'info',
    payload: {
      domain,
      previous: { score: beforeScore, grade: beforeGrade, partial: false },
      current: { score: posture.score, grade: posture.grade, partial: posture.partial },
      cappedBy: posture.cappedBy,
    },
    suppressed: inMaintenance ? 'maintenance' : null,
  };
}
