/**
 * Building events: one picker per event type copies only the documented fields (the tenant-safety
 * rule of alert-events.ts), used both when an event is created and when it is read back from the
 * outbox.
 */
import { findingDefinition } from '@mailwarden/checks';
import {
  boundJson,
  displayTarget,
  formats,
  gradeOf,
  intOrNull,
  iso,
  isoOrNull,
  loose,
  publicId,
  severityOf,
  text,
  textOrNull,
} from './event-fields.ts';
import {
  type AlertEvent,
  type AlertEventInput,
  type AlertEventType,
  type DomainRef,
  type EndpointFormat,
  type EndpointRef,
  type EventDataMap,
  type FindingEventData,
  type FindingPayload,
  isAlertEventType,
  MAX_EVIDENCE_BYTES,
  MAX_REPORT_DETAILS_BYTES,
  type MailboxErrorRef,
  type PostureEventData,
  type PostureSnapshot,
  type ReportEventData,
  type ReportMailboxRef,
  type ReportRef,
} from './event-types.ts';

function pickDomain(value: unknown): DomainRef {
  const d = loose(value);
  return { id: publicId('dom', d.id), name: text(d.name, 253) };
}

function pickEndpoint(value: unknown): EndpointRef {
  const e = loose(value);
  const format =
    typeof e.format === 'string' && formats.has(e.format) ? (e.format as EndpointFormat) : 'standard';
  // Re-derive the display form: a caller that passes the full target by mistake still leaks nothing.
  const target = typeof e.displayTarget === 'string' ? displayTarget(e.displayTarget) : '';
  return { id: publicId('whk', e.id), displayTarget: target, format };
}

/** The mailbox's connection settings as the tenant entered them; never its password. */
function pickMailbox(value: unknown): ReportMailboxRef {
  const m = loose(value);
  const port = intOrNull(m.port);
  return {
    id: publicId('mbx', m.id),
    host: text(m.host, 253),
    port: port !== null && port >= 1 && port <= 65_535 ? port : 0,
    username: text(m.username, 320),
    folder: text(m.folder, 200),
  };
}

function pickMailboxError(value: unknown): MailboxErrorRef | null {
  if (value === null || value === undefined) return null;
  const e = loose(value);
  const code = text(e.code, 100);
  return code ? { code, detail: textOrNull(e.detail, 500) } : null;
}

function pickFinding(value: unknown): FindingPayload {
  const f = loose(value);
  const code = text(f.code, 200);
  const def = findingDefinition(code);
  return {
    id: publicId('fnd', f.id),
    code,
    check: text(f.check, 50) || def?.check || code.split('.')[0] || '',
    severity: severityOf(f.severity ?? def?.severity),
    title: text(f.title) || def?.title || code,
    subject: text(f.subject, 1_000),
    message: text(f.message),
    evidence: boundJson(f.evidence, MAX_EVIDENCE_BYTES),
    remediation: text(f.remediation) || def?.remediation || '',
    reference: textOrNull(f.reference, 200) ?? def?.reference ?? null,
    firstSeenAt: iso(f.firstSeenAt),
    lastSeenAt: iso(f.lastSeenAt),
    resolvedAt: isoOrNull(f.resolvedAt),
  };
}

function pickPosture(value: unknown): PostureSnapshot {
  const p = loose(value);
  const score = intOrNull(p.score);
  return {
    score: score === null ? null : Math.min(100, Math.max(0, score)),
    grade: gradeOf(p.grade),
    partial: p.partial === true,
  };
}

function pickReport(value: unknown): ReportRef | null {
  if (value === null || value === undefined) return null;
  const r = loose(value);
  return {
    reporter: textOrNull(r.reporter, 200),
    reportId: textOrNull(r.reportId, 200),
    periodStart: isoOrNull(r.periodStart),
    periodEnd: isoOrNull(r.periodEnd),
  };
}

const reportPicker = (value: unknown): ReportEventData => {
  const d = loose(value);
  return {
    domain: pickDomain(d.domain),
    severity: severityOf(d.severity),
    summary: text(d.summary),
    report: pickReport(d.report),
    details: boundJson(d.details, MAX_REPORT_DETAILS_BYTES),
  };
};

const findingPicker = (value: unknown): FindingEventData => {
  const d = loose(value);
  return { domain: pickDomain(d.domain), finding: pickFinding(d.finding) };
};

const posturePicker = (value: unknown): PostureEventData => {
  const d = loose(value);
  const previous = pickPosture(d.previous);
  const current = pickPosture(d.current);
  const scoreChange =
    previous.score === null || current.score === null ? null : current.score - previous.score;
  return { domain: pickDomain(d.domain), previous, current, scoreChange };
};

const pickers: { [K in AlertEventType]: (value: unknown) => EventDataMap[K] } = {
  'finding.opened': findingPicker,
  'finding.resolved': findingPicker,
  'posture.degraded': posturePicker,
  'posture.improved': posturePicker,
  'domain.verified': (value) => {
    const d = loose(value);
    return { domain: pickDomain(d.domain), verifiedAt: iso(d.verifiedAt), method: 'dns_txt' };
  },
  'check.untestable': (value) => {
    const d = loose(value);
    return {
      domain: pickDomain(d.domain),
      check: text(d.check, 50),
      reason: text(d.reason, 100),
      detail: text(d.detail, 1_000),
      consecutiveRuns: intOrNull(d.consecutiveRuns) ?? 0,
      since: iso(d.since),
    };
  },
  'webhook.test': (value) => {
    const d = loose(value);
    return {
      endpoint: pickEndpoint(d.endpoint),
      message: text(d.message, 500) || 'This is a test event from Mailwarden.',
    };
  },
  'endpoint.disabled': (value) => {
    const d = loose(value);
    return {
      endpoint: pickEndpoint(d.endpoint),
      reason: d.reason === 'gone' ? 'gone' : 'failing_too_long',
      failingSince: isoOrNull(d.failingSince),
      lastStatusCode: intOrNull(d.lastStatusCode),
      lastError: textOrNull(d.lastError, 200),
    };
  },
  'dmarc.unknown_source': reportPicker,
  'tls_rpt.failures': reportPicker,
  'report_mailbox.failing': (value) => {
    const d = loose(value);
    return {
      mailbox: pickMailbox(d.mailbox),
      lastError: pickMailboxError(d.lastError) ?? { code: 'imap.unknown', detail: null },
      consecutiveFailures: intOrNull(d.consecutiveFailures) ?? 0,
      lastSuccessAt: isoOrNull(d.lastSuccessAt),
    };
  },
  'report_mailbox.recovered': (value) => {
    const d = loose(value);
    return {
      mailbox: pickMailbox(d.mailbox),
      lastError: pickMailboxError(d.lastError),
      consecutiveFailures: intOrNull(d.consecutiveFailures) ?? 0,
      failingSince: isoOrNull(d.failingSince),
    };
  },
};

/**
 * Builds an event. Only the documented fields are copied (see the file header), ids are turned
 * into typed ids, dates into ISO strings, free-form parts are bounded. Throws only on a bad id,
 * which is a programming error.
 */
export function createAlertEvent<T extends AlertEventType>(
  type: T,
  data: AlertEventInput<T>,
  occurredAt: Date,
): Extract<AlertEvent, { type: T }> {
  const event = { type, timestamp: occurredAt.toISOString(), data: pickers[type](data) };
  return event as unknown as Extract<AlertEvent, { type: T }>;
}

export type StoredEventResult = { ok: true; event: AlertEvent } | { ok: false; reason: string };

/**
 * Rebuilds an event from an outbox row (`type`, `occurred_at`, jsonb `payload` = the event's
 * data). The payload goes through the same picker as at creation, so whatever else the row holds
 * stays out. A bad row is a result (poison for the job), never a throw.
 */
export function eventFromStored(row: {
  type: string;
  occurredAt: Date;
  payload: unknown;
}): StoredEventResult {
  if (!isAlertEventType(row.type))
    return { ok: false, reason: `unknown event type ${JSON.stringify(row.type)}` };
  if (Number.isNaN(row.occurredAt.getTime())) return { ok: false, reason: 'invalid occurredAt' };
  try {
    const data = pickers[row.type](row.payload);
    return {
      ok: true,
      event: { type: row.type, timestamp: row.occurredAt.toISOString(), data } as AlertEvent,
    };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
