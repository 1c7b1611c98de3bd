/**
 * A channel-neutral reading of an event: the headline, the key facts, the prose, the evidence and
 * the fix. Slack and e-mail render the same view, so both say the same thing in the same order.
 * Values here are raw text; each channel escapes for its own markup.
 */
import type { Severity } from '@mailwarden/checks';
import {
  type AlertEvent,
  type AlertEventType,
  type DomainRef,
  eventDomain,
  eventSeverity,
  type PostureSnapshot,
  type ReportMailboxRef,
} from './alert-events.ts';

export interface EventFact {
  label: string;
  value: string;
  /** Shown as code (a finding code, a check name). */
  code?: boolean;
}

export interface EventView {
  type: AlertEventType;
  severity: Severity;
  /** One line, domain included: the Slack header, the e-mail subject, a digest line. */
  headline: string;
  /** Slack emoji short code that leads the header. */
  icon: string;
  facts: EventFact[];
  /** Sentences for people, in order. */
  paragraphs: string[];
  /** Pretty-printed JSON of the evidence or report details, unbounded here (channels truncate). */
  evidence?: string;
  remediation?: string;
  reference?: string;
  domain?: DomainRef;
  timestamp: string;
}

const SEVERITY_LABEL: Readonly<Record<Severity, string>> = {
  info: 'Info',
  low: 'Low',
  medium: 'Medium',
  high: 'High',
  critical: 'Critical',
};

const SEVERITY_ICON: Readonly<Record<Severity, string>> = {
  info: ':white_circle:',
  low: ':large_blue_circle:',
  medium: ':large_yellow_circle:',
  high: ':large_orange_circle:',
  critical: ':red_circle:',
};

export function severityLabel(severity: Severity): string {
  return SEVERITY_LABEL[severity];
}

const REPORT_LABEL: Partial<Record<AlertEventType, string>> = {
  'dmarc.unknown_source': 'Unknown source sending as the domain (DMARC reports)',
  'tls_rpt.failures': 'TLS failures reported by senders (TLS-RPT)',
};

const UNTESTABLE_TEXT =
  'Two runs in a row could not reach a verdict (a timeout, SERVFAIL or a refused connection). ' +
  'Nothing is known to be wrong, but nothing is being checked either until it answers again.';

/** What to do about a failing mailbox, by its `imap.*` code; the generic advice otherwise. */
const MAILBOX_FIX: Readonly<Record<string, string>> = {
  'imap.auth_failed': 'Set the current user name and password of the mailbox.',
  'imap.secret_unreadable': 'Set the password again: it was sealed with an encryption key that is gone.',
  'imap.host_refused':
    'Use a host name that resolves to public addresses only (or ask the operator to allow the range).',
  'imap.tls_failed':
    'Check that the server presents a valid certificate for the host name, and the port and security mode.',
  'imap.starttls_unavailable':
    'Use `security: tls` on the implicit-TLS port (993), or enable STARTTLS on the server.',
  'imap.folder_missing': 'Create the folder, or set the folder the reports arrive in.',
};
const MAILBOX_FIX_GENERIC =
  'Fix what the error names (host, port, security, user name, password or folder); a changed setting is polled within a minute.';

const mailboxName = (m: ReportMailboxRef) => `${m.username} on ${m.host}`;
const mailboxFacts = (m: ReportMailboxRef): EventFact[] => [
  { label: 'Server', value: `${m.host}:${m.port}` },
  { label: 'User', value: m.username },
  { label: 'Folder', value: m.folder },
];

const grade = (p: PostureSnapshot) => p.grade ?? 'unknown';
const score = (p: PostureSnapshot) => (p.score === null ? 'unknown' : String(p.score));

function pretty(value: Record<string, unknown>): string | undefined {
  if (Object.keys(value).length === 0) return undefined;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return undefined;
  }
}

export function viewEvent(event: AlertEvent): EventView {
  const severity = eventSeverity(event);
  const domain = eventDomain(event);
  const base = {
    type: event.type,
    severity,
    timestamp: event.timestamp,
    ...(domain ? { domain } : {}),
  };
  const domainFact: EventFact[] = domain ? [{ label: 'Domain', value: domain.name }] : [];
  switch (event.type) {
    case 'finding.opened':
    case 'finding.resolved': {
      const f = event.data.finding;
      const opened = event.type === 'finding.opened';
      const evidence = pretty(f.evidence);
      return {
        ...base,
        headline: opened
          ? `${severityLabel(f.severity)}: ${f.title} on ${event.data.domain.name}`
          : `Resolved: ${f.title} on ${event.data.domain.name}`,
        icon: opened ? SEVERITY_ICON[f.severity] : ':white_check_mark:',
        facts: [
          ...domainFact,
          { label: 'Severity', value: severityLabel(f.severity) },
          { label: 'Finding', value: f.code, code: true },
          { label: 'Subject', value: f.subject },
          opened
            ? { label: 'First seen', value: f.firstSeenAt }
            : { label: 'Resolved', value: f.resolvedAt ?? event.timestamp },
        ],
        paragraphs: opened ? [f.message] : [`Fixed: ${f.message}`],
        ...(opened && evidence ? { evidence } : {}),
        ...(opened && f.remediation ? { remediation: f.remediation } : {}),
        ...(f.reference ? { reference: f.reference } : {}),
      };
    }
    case 'posture.degraded':
    case 'posture.improved': {
      const { previous, current, scoreChange } = event.data;
      const worse = event.type === 'posture.degraded';
      const change = scoreChange === null ? '' : ` (${scoreChange > 0 ? '+' : ''}${scoreChange})`;
      return {
        ...base,
        headline: `Posture ${worse ? 'degraded' : 'improved'} on ${event.data.domain.name}: ${grade(previous)} → ${grade(current)}`,
        icon: worse ? ':chart_with_downwards_trend:' : ':chart_with_upwards_trend:',
        facts: [
          ...domainFact,
          { label: 'Grade', value: `${grade(previous)} → ${grade(current)}` },
          { label: 'Score', value: `${score(previous)} → ${score(current)}${change}` },
        ],
        paragraphs: current.partial
          ? ['Some checks could not answer on the last run; the score covers only the checks that did.']
          : [],
      };
    }
    case 'domain.verified':
      return {
        ...base,
        headline: `Domain verified: ${event.data.domain.name}`,
        icon: ':white_check_mark:',
        facts: [...domainFact, { label: 'Verified', value: event.data.verifiedAt }],
        paragraphs: [
          `Ownership of ${event.data.domain.name} was proven by its DNS TXT record; active probes of its mail servers start now.`,
        ],
      };
    case 'check.untestable':
      return {
        ...base,
        headline: `Check ${event.data.check} could not reach a verdict on ${event.data.domain.name}`,
        icon: ':warning:',
        facts: [
          ...domainFact,
          { label: 'Check', value: event.data.check, code: true },
          { label: 'Reason', value: event.data.reason, code: true },
          { label: 'Runs without a verdict', value: String(event.data.consecutiveRuns) },
          { label: 'Since', value: event.data.since },
        ],
        paragraphs: [UNTESTABLE_TEXT, ...(event.data.detail ? [event.data.detail] : [])],
      };
    case 'webhook.test':
      return {
        ...base,
        headline: 'Test event from Mailwarden',
        icon: ':wave:',
        facts: [{ label: 'Endpoint', value: event.data.endpoint.displayTarget }],
        paragraphs: [event.data.message],
      };
    case 'endpoint.disabled': {
      const d = event.data;
      return {
        ...base,
        headline: `Webhook endpoint disabled: ${d.endpoint.displayTarget}`,
        icon: ':no_entry:',
        facts: [
          { label: 'Endpoint', value: d.endpoint.displayTarget },
          { label: 'Reason', value: d.reason, code: true },
          ...(d.failingSince ? [{ label: 'Failing since', value: d.failingSince }] : []),
          ...(d.lastStatusCode !== null ? [{ label: 'Last status', value: String(d.lastStatusCode) }] : []),
          ...(d.lastError ? [{ label: 'Last error', value: d.lastError, code: true }] : []),
        ],
        paragraphs: [
          d.reason === 'gone'
            ? 'The receiver answered 410 Gone, so no more events are sent to it.'
            : 'Every delivery to this endpoint failed for 5 days, so no more events are sent to it.',
          'Fix the receiver, then enable the endpoint again; missed deliveries can be redelivered.',
        ],
      };
    }
    case 'report_mailbox.failing': {
      const d = event.data;
      return {
        ...base,
        headline: `Report mailbox failing: ${mailboxName(d.mailbox)}`,
        icon: ':mailbox_with_no_mail:',
        facts: [
          ...mailboxFacts(d.mailbox),
          { label: 'Error', value: d.lastError.code, code: true },
          { label: 'Failed polls in a row', value: String(d.consecutiveFailures) },
          { label: 'Last success', value: d.lastSuccessAt ?? 'never' },
        ],
        paragraphs: [
          `${d.consecutiveFailures} polls in a row failed, so the report mail in ${d.mailbox.folder} is not being read. Mailwarden keeps trying, less often after each failure (at most every 6 hours).`,
          ...(d.lastError.detail ? [d.lastError.detail] : []),
        ],
        remediation: MAILBOX_FIX[d.lastError.code] ?? MAILBOX_FIX_GENERIC,
      };
    }
    case 'report_mailbox.recovered': {
      const d = event.data;
      return {
        ...base,
        headline: `Report mailbox recovered: ${mailboxName(d.mailbox)}`,
        icon: ':white_check_mark:',
        facts: [
          ...mailboxFacts(d.mailbox),
          ...(d.failingSince ? [{ label: 'Failing since', value: d.failingSince }] : []),
          ...(d.lastError ? [{ label: 'Last error', value: d.lastError.code, code: true }] : []),
        ],
        paragraphs: [
          `A poll succeeded again: the report mail in ${d.mailbox.folder} is read again, including what arrived while it failed.`,
        ],
      };
    }
    default: {
      // Report events (dmarc.*, tls_rpt.*) share one shape.
      const d = event.data;
      const label = REPORT_LABEL[event.type] ?? event.type;
      const r = d.report;
      const details = pretty(d.details);
      return {
        ...base,
        headline: `${severityLabel(d.severity)}: ${label} for ${d.domain.name}`,
        icon: SEVERITY_ICON[d.severity],
        facts: [
          ...domainFact,
          { label: 'Severity', value: severityLabel(d.severity) },
          ...(r?.reporter ? [{ label: 'Reporter', value: r.reporter }] : []),
          ...(r?.periodStart && r.periodEnd
            ? [{ label: 'Period', value: `${r.periodStart} – ${r.periodEnd}` }]
            : []),
        ],
        paragraphs: d.summary ? [d.summary] : [],
        ...(details ? { evidence: details } : {}),
      };
    }
  }
}
