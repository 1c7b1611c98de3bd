/**
 * SMTP TLS reports (RFC 8460 §4), validated and normalised. Strict on structure (types of every
 * member, enumerations of policy-type, counts as non-negative integers, sizes bounded); lenient
 * where reporters differ: `mx-host` as a string or a list, an `mx: ` prefix left on a host,
 * `contact-info: null`, absent failure counts and failure-details.
 */
import { ReportParseError } from './errors.ts';
import type { ReportLimits } from './limits.ts';
import { canonicalIp, clean, domainName } from './normalize.ts';

export type TlsPolicyType = 'sts' | 'tlsa' | 'no-policy-found';

/** RFC 8460 §4.3 result types; others (future registrations) are kept as sent, lower-cased. */
export const TLS_RESULT_TYPES = [
  'starttls-not-supported',
  'certificate-host-mismatch',
  'certificate-expired',
  'certificate-not-trusted',
  'validation-failure',
  'tlsa-invalid',
  'dnssec-invalid',
  'dane-required',
  'sts-policy-fetch-error',
  'sts-policy-invalid',
  'sts-webpki-invalid',
] as const;

export interface TlsFailureDetail {
  resultType: string;
  sendingMtaIp: string | null;
  receivingMxHostname: string | null;
  receivingMxHelo: string | null;
  receivingIp: string | null;
  failedSessionCount: number;
  additionalInformation: string | null;
  failureReasonCode: string | null;
}

export interface TlsPolicyResult {
  policyType: TlsPolicyType;
  policyString: string[];
  policyDomain: string | null;
  mxHost: string[];
  totalSuccessfulSessionCount: number;
  totalFailureSessionCount: number;
  failureDetails: TlsFailureDetail[];
}

export interface TlsReport {
  organizationName: string;
  dateRange: { start: Date; end: Date };
  contactInfo: string | null;
  reportId: string;
  policies: TlsPolicyResult[];
}

const MAX_STRING = 4096;
const MAX_POLICY_STRINGS = 1000;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(path: string, detail: string): ReportParseError {
  return new ReportParseError('report.invalid_field', `TLS report ${path} ${detail}`);
}

function optionalString(value: unknown, path: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(path, `must be a string, got ${typeof value}`);
  if (value.length > MAX_STRING)
    throw new ReportParseError(
      'report.too_large',
      `TLS report ${path} is longer than ${MAX_STRING} characters`,
    );
  return clean(value);
}

function requiredString(object: Json, key: string, path: string): string {
  const value = optionalString(object[key], `${path}${key}`);
  if (value === null)
    throw new ReportParseError('report.missing_field', `TLS report ${path}${key} is missing or empty`);
  return value;
}

function count(value: unknown, path: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw invalid(path, `must be a non-negative integer, got ${JSON.stringify(value)?.slice(0, 40)}`);
  return value;
}

function dateTime(object: Json, key: string, path: string): Date {
  const text = requiredString(object, key, path);
  // RFC 8460 §4.4: RFC 3339 date-time.
  const ms = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms))
    throw invalid(`${path}${key}`, `${JSON.stringify(text.slice(0, 40))} is not an RFC 3339 date-time`);
  return new Date(ms);
}

/** `mx: mx1.example.com` (copied from the policy text by some reporters) to `mx1.example.com`. */
function mxHostName(text: string): string | null {
  return domainName(text.replace(/^mx:\s*/i, ''));
}

function list<T>(value: unknown, path: string, max: number, each: (item: unknown, path: string) => T): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(path, 'must be a list');
  if (value.length > max)
    throw new ReportParseError(
      'report.too_large',
      `TLS report ${path} has ${value.length} entries; the limit is ${max}`,
    );
  return value.map((item, index) => each(item, `${path}[${index}]`));
}

function ipOrNull(value: unknown, path: string): string | null {
  const text = optionalString(value, path);
  if (text === null) return null;
  const ip = canonicalIp(text);
  if (ip === null) throw invalid(path, `${JSON.stringify(text.slice(0, 64))} is not an IP address`);
  return ip;
}

function failureDetail(item: unknown, path: string): TlsFailureDetail {
  if (!isObject(item)) throw invalid(path, 'must be an object');
  const resultType = requiredString(item, 'result-type', `${path}.`).toLowerCase();
  return {
    resultType,
    sendingMtaIp: ipOrNull(item['sending-mta-ip'], `${path}.sending-mta-ip`),
    receivingMxHostname: domainName(
      optionalString(item['receiving-mx-hostname'], `${path}.receiving-mx-hostname`),
    ),
    receivingMxHelo: optionalString(item['receiving-mx-helo'], `${path}.receiving-mx-helo`),
    receivingIp: ipOrNull(item['receiving-ip'], `${path}.receiving-ip`),
    failedSessionCount: count(item['failed-session-count'], `${path}.failed-session-count`),
    additionalInformation: optionalString(item['additional-information'], `${path}.additional-information`),
    failureReasonCode: optionalString(item['failure-reason-code'], `${path}.failure-reason-code`),
  };
}

function policyResult(item: unknown, path: string, limits: ReportLimits): TlsPolicyResult {
  if (!isObject(item)) throw invalid(path, 'must be an object');
  const policy = item.policy;
  if (!isObject(policy))
    throw new ReportParseError('report.missing_field', `TLS report ${path}.policy is missing`);
  const type = requiredString(policy, 'policy-type', `${path}.policy.`).toLowerCase();
  if (type !== 'sts' && type !== 'tlsa' && type !== 'no-policy-found')
    throw invalid(
      `${path}.policy.policy-type`,
      `${JSON.stringify(type.slice(0, 40))} is not sts, tlsa or no-policy-found`,
    );
  const mx = policy['mx-host'];
  const mxList = typeof mx === 'string' ? [mx] : mx;
  const summary = item.summary;
  if (!isObject(summary))
    throw new ReportParseError('report.missing_field', `TLS report ${path}.summary is missing`);
  return {
    policyType: type,
    policyString: list(
      policy['policy-string'],
      `${path}.policy.policy-string`,
      MAX_POLICY_STRINGS,
      (line, at) => optionalString(line, at) ?? '',
    ),
    policyDomain: domainName(optionalString(policy['policy-domain'], `${path}.policy.policy-domain`)),
    mxHost: list(mxList, `${path}.policy.mx-host`, MAX_POLICY_STRINGS, (host, at) => optionalString(host, at))
      .map((host) => (host === null ? null : mxHostName(host)))
      .filter((host): host is string => host !== null),
    totalSuccessfulSessionCount: count(
      summary['total-successful-session-count'],
      `${path}.summary.total-successful-session-count`,
    ),
    totalFailureSessionCount: count(
      summary['total-failure-session-count'],
      `${path}.summary.total-failure-session-count`,
    ),
    failureDetails: list(
      item['failure-details'],
      `${path}.failure-details`,
      limits.maxTlsFailureDetails,
      failureDetail,
    ),
  };
}

/** True when a parsed JSON value is meant as a TLS report (so problems are errors, not a miss). */
export function looksLikeTlsReport(value: unknown): boolean {
  return isObject(value) && ('organization-name' in value || 'policies' in value || 'report-id' in value);
}

export function parseTlsReportValue(value: unknown, limits: ReportLimits): TlsReport {
  if (!looksLikeTlsReport(value))
    throw new ReportParseError(
      'report.not_a_report',
      'the JSON is not an SMTP TLS report (no organization-name, report-id or policies)',
    );
  const report = value as Json;
  const range = report['date-range'];
  if (!isObject(range))
    throw new ReportParseError('report.missing_field', 'TLS report date-range is missing');
  const start = dateTime(range, 'start-datetime', 'date-range.');
  const end = dateTime(range, 'end-datetime', 'date-range.');
  if (end.getTime() < start.getTime()) throw invalid('date-range', 'ends before it starts');
  const policies = list(report.policies, 'policies', limits.maxTlsPolicies, (item, path) =>
    policyResult(item, path, limits),
  );
  if (policies.length === 0)
    throw new ReportParseError('report.missing_field', 'TLS report policies is empty');
  return {
    organizationName: requiredString(report, 'organization-name', ''),
    dateRange: { start, end },
    contactInfo: optionalString(report['contact-info'], 'contact-info'),
    reportId: requiredString(report, 'report-id', ''),
    policies,
  };
}

/** Parses TLS-RPT JSON text (RFC 8460 §4.4), bounded by `maxJsonBytes`. */
export function parseTlsReportJson(text: string, limits: ReportLimits, what = 'TLS report'): TlsReport {
  if (Buffer.byteLength(text) > limits.maxJsonBytes)
    throw new ReportParseError('report.too_large', `${what} is larger than ${limits.maxJsonBytes} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new ReportParseError('report.malformed_json', `${what}: ${(err as Error).message}`);
  }
  return parseTlsReportValue(value, limits);
}
