/**
 * DMARC failure reports (RFC 6591 on ARF, RFC 5965), read minimally and redacted: the message
 * body of the reported mail is never kept, only a short list of header fields useful to find the
 * sender (routing, authentication, identifiers), and every local part of an address becomes `*`
 * (`*@example.com`), display names included. The Subject goes too, unless asked for.
 * Storing these at all is the tenant's opt-in; this module only makes what it returns safe to keep.
 */
import { ReportParseError } from './errors.ts';
import { DEFAULT_REPORT_LIMITS, type ReportLimits } from './limits.ts';
import {
  allParts,
  headerValue,
  type MimeHeader,
  type MimePart,
  parseHeaderSection,
  parseMime,
} from './mime.ts';
import { canonicalIp, clean, domainName, lower } from './normalize.ts';

export interface FailureReport {
  /** RFC 5965 §3.1 Feedback-Type: `auth-failure` for DMARC (RFC 6591), `abuse`, ... */
  feedbackType: string;
  version: string | null;
  userAgent: string | null;
  arrivalDate: Date | null;
  sourceIp: string | null;
  /** RFC 6591 §3.2.2 Auth-Failure: dkim, spf, dmarc, bodyhash, revoked, signature, adsp. */
  authFailure: string | null;
  deliveryResult: string | null;
  identityAlignment: string | null;
  reportedDomains: string[];
  /** Redacted: `*@domain`. */
  originalMailFrom: string | null;
  originalRcptTo: string[];
  authenticationResults: string[];
  dkimDomain: string | null;
  dkimSelector: string | null;
  dkimIdentity: string | null;
  spfDns: string | null;
  /** Kept header fields of the reported message, values redacted, in their order. */
  originalHeaders: MimeHeader[];
  /** Who sent the report (redacted) and when. */
  reporter: { from: string | null; date: Date | null };
}

export interface FailureReportOptions {
  limits?: Partial<ReportLimits>;
  /** Keep the reported message's Subject (redacted of addresses). Default false. */
  keepSubject?: boolean;
}

const MAX_LIST = 50;
const MAX_VALUE = 2048;

/** Header fields of the reported message worth keeping for analysis. */
const KEPT_HEADERS = new Set([
  'from',
  'sender',
  'reply-to',
  'return-path',
  'date',
  'message-id',
  'received',
  'dkim-signature',
  'authentication-results',
  'arc-authentication-results',
  'received-spf',
  'list-id',
  'x-mailer',
  'user-agent',
]);

const ADDRESS_RE =
  /(?:"[^"]*"\s*)?<?[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>?/g;

/** Replaces each address (and a quoted display name before it) with `*@domain`. */
export function redactAddresses(text: string): string {
  return text.replace(ADDRESS_RE, (match, domain: string) => {
    const bracketed = match.includes('<') && match.endsWith('>');
    return bracketed ? `<*@${domain.toLowerCase()}>` : `*@${domain.toLowerCase()}`;
  });
}

function redactedValue(value: string | null): string | null {
  const text = clean(value);
  return text === null ? null : redactAddresses(text.slice(0, MAX_VALUE));
}

function dkimSignatureSummary(value: string): string {
  // Keep the tags that identify the signer; drop the signature and body hash.
  const kept: string[] = [];
  for (const tag of value.split(';')) {
    const name = tag.split('=')[0]?.trim().toLowerCase();
    if (name && ['v', 'a', 'c', 'd', 's', 'i', 'h', 't'].includes(name))
      kept.push(tag.trim().replace(/\s+/g, ''));
  }
  return redactAddresses(kept.join('; '));
}

function date(text: string | null): Date | null {
  if (text === null) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}

function all(headers: readonly MimeHeader[], name: string): string[] {
  return headers
    .filter((header) => header.name === name)
    .map((header) => header.value)
    .slice(0, MAX_LIST);
}

/** The ARF part of a message, or null when there is none (so it is not a failure report). */
export function findFeedbackPart(root: MimePart): MimePart | null {
  for (const part of allParts(root)) if (part.contentType === 'message/feedback-report') return part;
  return null;
}

export function parseFailureReportMime(root: MimePart, options: FailureReportOptions = {}): FailureReport {
  const feedback = findFeedbackPart(root);
  if (feedback === null)
    throw new ReportParseError(
      'report.not_a_report',
      'the message has no message/feedback-report part (RFC 5965 §2)',
    );
  const fields = parseHeaderSection(feedback.body.toString('utf8'));
  const field = (name: string): string | null => clean(headerValue(fields, name));
  const feedbackType = lower(field('feedback-type'));
  if (feedbackType === null)
    throw new ReportParseError(
      'report.missing_field',
      'the feedback report has no Feedback-Type (RFC 5965 §3.1)',
    );

  let originalHeaders: MimeHeader[] = [];
  for (const part of allParts(root)) {
    if (part.contentType === 'text/rfc822-headers' || part.contentType === 'message/rfc822-headers') {
      originalHeaders = parseHeaderSection(part.body.toString('utf8'));
      break;
    }
    if (
      (part.contentType === 'message/rfc822' || part.contentType === 'message/global') &&
      part.children[0]
    ) {
      originalHeaders = part.children[0].headers;
      break;
    }
  }
  const keep = options.keepSubject ? new Set([...KEPT_HEADERS, 'subject']) : KEPT_HEADERS;
  const kept: MimeHeader[] = [];
  for (const header of originalHeaders) {
    if (!keep.has(header.name) || kept.length >= MAX_LIST) continue;
    const value =
      header.name === 'dkim-signature' ? dkimSignatureSummary(header.value) : redactedValue(header.value);
    if (value !== null) kept.push({ name: header.name, value });
  }
  const sourceIpText = field('source-ip')?.split(/\s/)[0] ?? null;
  return {
    feedbackType,
    version: field('version'),
    userAgent: field('user-agent'),
    arrivalDate: date(field('arrival-date') ?? field('received-date')),
    sourceIp: sourceIpText === null ? null : canonicalIp(sourceIpText),
    authFailure: lower(field('auth-failure')),
    deliveryResult: lower(field('delivery-result')),
    identityAlignment: lower(field('identity-alignment')),
    reportedDomains: all(fields, 'reported-domain')
      .map((domain) => domainName(domain))
      .filter((domain): domain is string => domain !== null),
    originalMailFrom: redactedValue(field('original-mail-from')),
    originalRcptTo: all(fields, 'original-rcpt-to').map((value) => redactedValue(value) ?? ''),
    authenticationResults: all(fields, 'authentication-results').map((value) => redactedValue(value) ?? ''),
    dkimDomain: domainName(field('dkim-domain')),
    dkimSelector: lower(field('dkim-selector')),
    dkimIdentity: redactedValue(field('dkim-identity')),
    spfDns: redactedValue(field('spf-dns')),
    originalHeaders: kept,
    reporter: {
      from: redactedValue(headerValue(root.headers, 'from')),
      date: date(headerValue(root.headers, 'date')),
    },
  };
}

/** Parses and redacts a failure report message (an .eml), bounded like every other input. */
export function parseFailureReport(message: Uint8Array, options: FailureReportOptions = {}): FailureReport {
  const limits = { ...DEFAULT_REPORT_LIMITS, ...options.limits };
  if (message.length > limits.maxInputBytes)
    throw new ReportParseError(
      'report.too_large',
      `the message is larger than ${limits.maxInputBytes} bytes`,
    );
  const data = Buffer.from(message.buffer, message.byteOffset, message.length);
  return parseFailureReportMime(parseMime(data, limits), options);
}
