/**
 * Why a report file was refused. Codes are stable (stored with the raw report, shown to tenants,
 * printed by the CLI): add new ones, never rename or reuse one. They are data about an input, in
 * the `<area>.<problem>` shape of finding codes, not HTTP problems, so they live here and not in
 * libs/core's catalogue; `httpErrorCodeFor` maps them onto that catalogue where an upload route
 * wants to answer synchronously.
 */
import type { ErrorCode } from '@mailwarden/core';

export const reportErrorCatalogue = {
  'report.empty': { title: 'The file is empty', http: 'validation_failed' },
  'report.unsupported_format': {
    title: 'The bytes are not XML, JSON, gzip, zip or a MIME message',
    http: 'unsupported_media_type',
  },
  'report.not_a_report': {
    title: 'The file is well-formed but holds no DMARC aggregate, TLS or failure report',
    http: 'validation_failed',
  },
  'report.too_large': { title: 'A size limit was exceeded', http: 'payload_too_large' },
  'report.zip_bomb': {
    title: 'The archive expands far more than real reports do (compression ratio limit)',
    http: 'payload_too_large',
  },
  'report.nested_archive': { title: 'An archive inside an archive is refused', http: 'validation_failed' },
  'report.too_many_entries': {
    title: 'The archive or message has too many entries',
    http: 'validation_failed',
  },
  'report.truncated_gzip': { title: 'The gzip stream ends before its end', http: 'validation_failed' },
  'report.corrupt_archive': {
    title: 'The archive is damaged or uses a feature that is not supported',
    http: 'validation_failed',
  },
  'report.doctype_forbidden': {
    title: 'XML with a DOCTYPE (and so ENTITY declarations) is refused',
    http: 'validation_failed',
  },
  'report.malformed_xml': { title: 'The XML is not well-formed', http: 'validation_failed' },
  'report.malformed_json': { title: 'The JSON does not parse', http: 'validation_failed' },
  'report.too_deep': { title: 'The document nests deeper than any report does', http: 'validation_failed' },
  'report.missing_field': {
    title: 'A field the report cannot do without is missing',
    http: 'validation_failed',
  },
  'report.invalid_field': {
    title: 'A field holds a value the RFC does not allow',
    http: 'validation_failed',
  },
  'report.too_many_records': {
    title: 'The report has more records than the limit',
    http: 'payload_too_large',
  },
  'report.deadline_exceeded': { title: 'Parsing took longer than its deadline', http: 'request_timeout' },
} as const satisfies Record<string, { title: string; http: ErrorCode }>;

export type ReportErrorCode = keyof typeof reportErrorCatalogue;

export const reportErrorCodes = Object.keys(reportErrorCatalogue) as ReportErrorCode[];

export class ReportParseError extends Error {
  readonly code: ReportErrorCode;
  readonly title: string;
  /** What was wrong, quoting the input (a value, an XML line:column, a zip entry name). */
  readonly detail: string;

  constructor(code: ReportErrorCode, detail: string, options: { cause?: unknown } = {}) {
    super(`${code}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReportParseError';
    this.code = code;
    this.title = reportErrorCatalogue[code].title;
    this.detail = detail;
  }
}

export function isReportParseError(err: unknown): err is ReportParseError {
  return err instanceof ReportParseError;
}

/** The libs/core error code an upload route answers with when it refuses a file synchronously. */
export function httpErrorCodeFor(code: ReportErrorCode): ErrorCode {
  return reportErrorCatalogue[code].http;
}
