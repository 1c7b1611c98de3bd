/**
 * The alert event envelope: what every channel (signed JSON webhook, Slack, e-mail) is built from.
 *
 * Shape (Standard Webhooks' recommended payload structure): `{type, timestamp, data}`. `type` is a
 * dotted name from `alertEventTypes`; `timestamp` is when the event happened (ISO 8601, UTC), not
 * when it was sent; `data` depends on the type.
 *
 * Tenant safety is structural: every payload is rebuilt by a per-type picker that copies only the
 * fields listed here, so a database row passed in whole (with its ciphertexts, tenant id or the
 * endpoint's full URL, which for Slack carries a token) cannot leak into a payload. Free-form parts
 * (finding evidence, report details) are bounded in size.
 *
 * Ids in payloads are the public typed ids (`dom_…`, `fnd_…`, `whk_…`, `evt_…`), never raw uuids.
 */
import { findingDefinition, type Grade, type Severity, severities } from '@mailwarden/checks';
import { decodeId, encodeId, type IdPrefix } from '@mailwarden/core';

/** Events about a domain's mail security, written by the regression engine. */
export const monitoringEventTypes = [
  'finding.opened',
  'finding.resolved',
  'posture.degraded',
  'posture.improved',
  'domain.verified',
  'check.untestable',
] as const;

/** Events about the alerting itself. */
export const systemEventTypes = ['webhook.test', 'endpoint.disabled'] as const;

/**
 * Events raised from incoming DMARC aggregate and TLS-RPT reports (the reports issue). Named
 * `<report kind>.<problem>`; new ones are added here and share `ReportEventData`.
 */
export const reportEventTypes = ['dmarc.unknown_source', 'tls_rpt.failures'] as const;

export const alertEventTypes = [...monitoringEventTypes, ...systemEventTypes, ...reportEventTypes] as const;

export type MonitoringEventType = (typeof monitoringEventTypes)[number];
export type SystemEventType = (typeof systemEventTypes)[number];
export type ReportEventType = (typeof reportEventTypes)[number];
export type AlertEventType = (typeof alertEventTypes)[number];

export type EndpointFormat = 'standard' | 'slack' | 'email';

/** Size bound of a finding's evidence (serialized JSON) inside a payload. */
export const MAX_EVIDENCE_BYTES = 8 * 1024;
/** Size bound of a report event's details (serialized JSON). */
export const MAX_REPORT_DETAILS_BYTES = 16 * 1024;
/** Size bound of any single text field (titles, messages, remediation). */
export const MAX_TEXT_CHARS = 4_000;

export interface DomainRef {
  /** `dom_…` */
  id: string;
  name: string;
}

export interface EndpointRef {
  /** `whk_…` */
  id: string;
  /** Scheme and host (or the e-mail address) only: a Slack URL's path is a credential. */
  displayTarget: string;
  format: EndpointFormat;
}

export interface FindingPayload {
  /** `fnd_…` */
  id: string;
  code: string;
  check: string;
  severity: Severity;
  title: string;
  subject: string;
  message: string;
  /** The records and values that prove it; bounded by `MAX_EVIDENCE_BYTES`. */
  evidence: Record<string, unknown>;
  remediation: string;
  reference: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  resolvedAt: string | null;
}

export interface FindingEventData {
  domain: DomainRef;
  finding: FindingPayload;
}

export interface PostureSnapshot {
  score: number | null;
  grade: Grade | null;
  /** Some checks were unknown: the score covers only the checks that answered. */
  partial: boolean;
}

export interface PostureEventData {
  domain: DomainRef;
  previous: PostureSnapshot;
  current: PostureSnapshot;
  /** current.score - previous.score, or null when either is unknown. */
  scoreChange: number | null;
}

export interface DomainVerifiedData {
  domain: DomainRef;
  verifiedAt: string;
  method: 'dns_txt';
}

export interface CheckUntestableData {
  domain: DomainRef;
  /** The check or check family that could not reach a verdict. */
  check: string;
  /** Stable reason (`timeout`, `servfail`, `refused`, `connection_refused`, …). */
  reason: string;
  detail: string;
  /** Consecutive runs without a verdict; an event is only raised from two (DESIGN.md §2.5). */
  consecutiveRuns: number;
  since: string;
}

export interface WebhookTestData {
  endpoint: EndpointRef;
  message: string;
}

export type EndpointDisabledReason = 'gone' | 'failing_too_long';

export interface EndpointDisabledData {
  endpoint: EndpointRef;
  /** `gone`: the receiver answered 410; `failing_too_long`: every delivery failed for days. */
  reason: EndpointDisabledReason;
  failingSince: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
}

export interface ReportRef {
  /** The reporting organisation (`org_name` of DMARC, `organization-name` of TLS-RPT). */
  reporter: string | null;
  reportId: string | null;
  periodStart: string | null;
  periodEnd: string | null;
}

export interface ReportEventData {
  domain: DomainRef;
  severity: Severity;
  /** One sentence for people: "203.0.113.7 sent 1 204 messages as example.com and failed DMARC". */
  summary: string;
  report: ReportRef | null;
  /** Type-specific figures (source IPs, counts, failure types); bounded by MAX_REPORT_DETAILS_BYTES. */
  details: Record<string, unknown>;
}

export interface EventDataMap {
  'finding.opened': FindingEventData;
  'finding.resolved': FindingEventData;
  'posture.degraded': PostureEventData;
  'posture.improved': PostureEventData;
  'domain.verified': DomainVerifiedData;
  'check.untestable': CheckUntestableData;
  'webhook.test': WebhookTestData;
  'endpoint.disabled': EndpointDisabledData;
  'dmarc.unknown_source': ReportEventData;
  'tls_rpt.failures': ReportEventData;
}

export interface AlertEventOf<T extends AlertEventType> {
  type: T;
  /** ISO 8601 UTC: when the change happened. */
  timestamp: string;
  data: EventDataMap[T];
}

/** The discriminated union of every event. */
export type AlertEvent = { [K in AlertEventType]: AlertEventOf<K> }[AlertEventType];

const typeSet: ReadonlySet<string> = new Set(alertEventTypes);
const reportTypeSet: ReadonlySet<string> = new Set(reportEventTypes);

export function isAlertEventType(value: unknown): value is AlertEventType {
  return typeof value === 'string' && typeSet.has(value);
}

export function isReportEventType(value: unknown): value is ReportEventType {
  return typeof value === 'string' && reportTypeSet.has(value);
}

// ---------------------------------------------------------------------------------------------
// Coercion helpers: pickers read `object`s that may come straight from jsonb.

type Loose = Record<string, unknown>;
const loose = (value: unknown): Loose =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : {};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A database uuid or an already typed id, as the typed id. Throws for anything else. */
export function publicId(prefix: IdPrefix, value: unknown): string {
  if (typeof value === 'string') {
    if (UUID_RE.test(value)) return encodeId(prefix, value.toLowerCase());
    if (decodeId(prefix, value) !== undefined) return value;
  }
  throw new Error(`not a ${prefix} id: ${JSON.stringify(value)?.slice(0, 60)}`);
}

/** Truncates by code points so a surrogate pair is never split. */
export function truncateText(value: string, maxChars: number, ellipsis = '…'): string {
  if (value.length <= maxChars) return value;
  let cut = Math.max(0, maxChars - ellipsis.length);
  const code = value.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return value.slice(0, cut) + ellipsis;
}

const text = (value: unknown, maxChars = MAX_TEXT_CHARS): string =>
  typeof value === 'string' ? truncateText(value, maxChars) : '';
const textOrNull = (value: unknown, maxChars = MAX_TEXT_CHARS): string | null =>
  typeof value === 'string' && value !== '' ? truncateText(value, maxChars) : null;
const intOrNull = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : null;

function isoOrNull(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'string' || typeof value === 'number') {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  return null;
}
const iso = (value: unknown): string => isoOrNull(value) ?? new Date(0).toISOString();

const severitySet: ReadonlySet<string> = new Set(severities);
const severityOf = (value: unknown): Severity =>
  typeof value === 'string' && severitySet.has(value) ? (value as Severity) : 'info';

const grades: ReadonlySet<string> = new Set(['A+', 'A', 'B', 'C', 'D', 'F']);
const gradeOf = (value: unknown): Grade | null =>
  typeof value === 'string' && grades.has(value) ? (value as Grade) : null;

const formats: ReadonlySet<string> = new Set(['standard', 'slack', 'email']);

/**
 * Bounds a free-form JSON object. Small enough: a plain-data copy (functions, undefined and
 * prototypes dropped). Too big or not serializable: a marker with a prefix of the JSON, so the
 * payload stays valid JSON and says what happened.
 */
export function boundJson(value: unknown, maxBytes: number): Record<string, unknown> {
  let json: string;
  try {
    json = JSON.stringify(value ?? {}) ?? '{}';
  } catch {
    return { truncated: true, reason: 'not serializable' };
  }
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) {
    const copy = JSON.parse(json) as unknown;
    return loose(copy) === copy ? (copy as Record<string, unknown>) : { value: copy };
  }
  return {
    truncated: true,
    originalBytes: bytes,
    excerpt: truncateText(json, Math.max(0, Math.floor(maxBytes / 2))),
  };
}

// ---------------------------------------------------------------------------------------------
// Per-type pickers.

function pickDomain(value: unknown): DomainRef {
  const d = loose(value);
  return { id: publicId('dom', d.id), name: text(d.name, 253) };
}

/**
 * Display form of a webhook target: scheme, host and port of a URL (no path, query or user info —
 * a Slack incoming-webhook URL carries its token in the path), or an e-mail address as it is.
 */
export function displayTarget(target: string): string {
  if (!/^https?:\/\//i.test(target)) return truncateText(target, 320);
  try {
    const u = new URL(target);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}

function pickEndpoint(value: unknown): EndpointRef {
  const e = loose(value);
  const format =
    typeof e.format === 'string' && formats.has(e.format) ? (e.format as EndpointFormat) : 'standard';
  // Re-derive the display form: a caller that passes the full target by mistake still leaks nothing.
  const target = typeof e.displayTarget === 'string' ? displayTarget(e.displayTarget) : '';
  return { id: publicId('whk', e.id), displayTarget: target, format };
}

/** What the regression engine knows about a finding; title and remediation default from the catalogue. */
export interface FindingInput {
  /** The finding row's uuid or `fnd_…` id. */
  id: string;
  code: string;
  subject: string;
  message: string;
  evidence?: Record<string, unknown>;
  severity?: Severity;
  title?: string;
  remediation?: string;
  check?: string;
  reference?: string | null;
  firstSeenAt: Date | string;
  lastSeenAt: Date | string;
  resolvedAt?: Date | string | null;
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
};

/** Input accepted by `createAlertEvent`: the data shape, with dates as Date or string. */
export type AlertEventInput<T extends AlertEventType> = T extends 'finding.opened' | 'finding.resolved'
  ? { domain: DomainRef; finding: FindingInput }
  : T extends 'posture.degraded' | 'posture.improved'
    ? { domain: DomainRef; previous: PostureSnapshot; current: PostureSnapshot }
    : T extends 'domain.verified'
      ? { domain: DomainRef; verifiedAt: Date | string }
      : T extends 'check.untestable'
        ? Omit<CheckUntestableData, 'since'> & { since: Date | string }
        : T extends 'endpoint.disabled'
          ? Omit<EndpointDisabledData, 'failingSince'> & { failingSince: Date | string | null }
          : T extends ReportEventType
            ? Omit<ReportEventData, 'report'> & {
                report: {
                  reporter: string | null;
                  reportId: string | null;
                  periodStart: Date | string | null;
                  periodEnd: Date | string | null;
                } | null;
              }
            : EventDataMap[T];

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

/**
 * How urgent an event is, for the Slack header, the e-mail subject and the outbox `severity`
 * column. A finding carries its own; a posture drop to D or F is high.
 */
export function eventSeverity(event: AlertEvent): Severity {
  switch (event.type) {
    case 'finding.opened':
      return event.data.finding.severity;
    case 'posture.degraded':
      return event.data.current.grade === 'D' || event.data.current.grade === 'F' ? 'high' : 'medium';
    case 'check.untestable':
      return 'medium';
    case 'endpoint.disabled':
      return 'high';
    case 'dmarc.unknown_source':
    case 'tls_rpt.failures':
      return event.data.severity;
    default:
      return 'info';
  }
}

/** The domain an event is about, when it is about one. */
export function eventDomain(event: AlertEvent): DomainRef | undefined {
  return 'domain' in event.data ? event.data.domain : undefined;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Loose)[key]);
  return out;
}

/**
 * The request body of a `standard` delivery. Key order is fixed (`type`, `timestamp`, `data`, and
 * sorted keys inside `data`), so an event read back from jsonb — which reorders keys — serializes
 * to the same bytes every time.
 */
export function serializeEvent(event: AlertEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: sortKeys(event.data) });
}
