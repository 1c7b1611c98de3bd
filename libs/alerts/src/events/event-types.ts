/**
 * The alert event types and their data shapes (what a payload may hold, field by field), the
 * inputs `createAlertEvent` accepts, and the type guards for event type names.
 */
import type { Grade, Severity } from '@mailwarden/checks';

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

/**
 * Events about the tenant's report intake: an IMAP report mailbox that stopped being read, and read
 * again (docs/reports.md "IMAP intake"). Tenant-level like `endpoint.disabled`: no domain.
 */
export const intakeEventTypes = ['report_mailbox.failing', 'report_mailbox.recovered'] as const;

export const alertEventTypes = [
  ...monitoringEventTypes,
  ...systemEventTypes,
  ...reportEventTypes,
  ...intakeEventTypes,
] as const;

export type MonitoringEventType = (typeof monitoringEventTypes)[number];
export type SystemEventType = (typeof systemEventTypes)[number];
export type ReportEventType = (typeof reportEventTypes)[number];
export type IntakeEventType = (typeof intakeEventTypes)[number];
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

export interface ReportMailboxRef {
  /** `mbx_…` */
  id: string;
  host: string;
  port: number;
  username: string;
  folder: string;
}

export interface MailboxErrorRef {
  /** A stable `imap.*` code (docs/reports.md "IMAP intake"). */
  code: string;
  /** The server's answer or what went wrong, control characters removed. */
  detail: string | null;
}

export interface ReportMailboxFailingData {
  mailbox: ReportMailboxRef;
  /** The error of the poll that made the streak reach 5. */
  lastError: MailboxErrorRef;
  /** Failed polls in a row (5 when raised). */
  consecutiveFailures: number;
  /** The last successful poll; null when none ever succeeded. */
  lastSuccessAt: string | null;
}

export interface ReportMailboxRecoveredData {
  mailbox: ReportMailboxRef;
  /** What the polls before this success failed with; null when a settings change had cleared it. */
  lastError: MailboxErrorRef | null;
  /** Failed polls in a row before this success; a changed setting restarts the count from 0. */
  consecutiveFailures: number;
  /** When `report_mailbox.failing` was raised. */
  failingSince: string | null;
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
  'report_mailbox.failing': ReportMailboxFailingData;
  'report_mailbox.recovered': ReportMailboxRecoveredData;
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
          : T extends 'report_mailbox.failing'
            ? Omit<ReportMailboxFailingData, 'lastSuccessAt'> & { lastSuccessAt: Date | string | null }
            : T extends 'report_mailbox.recovered'
              ? Omit<ReportMailboxRecoveredData, 'failingSince'> & { failingSince: Date | string | null }
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
