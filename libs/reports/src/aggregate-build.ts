/**
 * Turning drafts into the public shapes, leniently: values trimmed and lower-cased, alignment and
 * testing flags read in their long spellings too, bad counts, IPs and pct values warned about and
 * dropped. Only what a report cannot do without (report_id, a valid date_range, the policy
 * domain) is an error.
 */

import type { MetaDraft, RecordDraft } from './aggregate-drafts.ts';
import type { AggregateRecord, AggregateReportHeader } from './aggregate-types.ts';
import { ReportParseError } from './errors.ts';
import { canonicalIp, clean, domainName, lower, nonNegativeInteger, reportTime } from './normalize.ts';

type Warn = (message: string) => void;

function alignmentMode(text: string | null): 'r' | 's' | null {
  const value = lower(text);
  if (value === 'r' || value === 'relaxed') return 'r';
  if (value === 's' || value === 'strict') return 's';
  return null;
}

function yesNo(text: string | null): 'y' | 'n' | null {
  const value = lower(text);
  if (value === 'y' || value === 'yes' || value === 'true') return 'y';
  if (value === 'n' || value === 'no' || value === 'false') return 'n';
  return null;
}

/**
 * The record for a closed `<record>`, or null when it carries neither a source IP nor a message
 * count (skipped); `ordinal` numbers it in warnings.
 */
export function buildRecord(draft: RecordDraft, ordinal: number, warn: Warn): AggregateRecord | null {
  const ipText = clean(draft.sourceIp);
  const sourceIp = ipText === null ? null : canonicalIp(ipText);
  if (ipText !== null && sourceIp === null)
    warn(`record ${ordinal}: source_ip ${JSON.stringify(ipText.slice(0, 64))} is not an IP address`);
  let count = nonNegativeInteger(draft.count);
  if (count === null) {
    if (clean(draft.count) !== null)
      warn(`record ${ordinal}: count ${JSON.stringify(clean(draft.count)?.slice(0, 32))} is not a number`);
    count = 0;
  }
  if (sourceIp === null && count === 0) return null;
  return {
    sourceIp,
    count,
    policyEvaluated: {
      disposition: lower(draft.disposition),
      dkim: lower(draft.dkim),
      spf: lower(draft.spf),
      reasons: draft.reasons,
    },
    identifiers: {
      headerFrom: domainName(draft.headerFrom),
      envelopeFrom: domainName(draft.envelopeFrom),
      envelopeTo: domainName(draft.envelopeTo),
    },
    authResults: { dkim: draft.dkimResults, spf: draft.spfResults },
  };
}

/** Validates and normalises report_metadata and policy_published into the report header. */
export function buildHeader(meta: MetaDraft, what: string, warn: Warn): AggregateReportHeader {
  const missing = (field: string): ReportParseError =>
    new ReportParseError('report.missing_field', `${what}: ${field} is missing or empty`);
  const reportId = clean(meta.reportId);
  if (reportId === null) throw missing('report_metadata/report_id');
  if (clean(meta.begin) === null) throw missing('report_metadata/date_range/begin');
  if (clean(meta.end) === null) throw missing('report_metadata/date_range/end');
  const begin = reportTime(meta.begin);
  const end = reportTime(meta.end);
  if (begin === null)
    throw new ReportParseError(
      'report.invalid_field',
      `${what}: date_range/begin ${JSON.stringify(clean(meta.begin)?.slice(0, 40))} is not a time`,
    );
  if (end === null)
    throw new ReportParseError(
      'report.invalid_field',
      `${what}: date_range/end ${JSON.stringify(clean(meta.end)?.slice(0, 40))} is not a time`,
    );
  if (end.getTime() < begin.getTime())
    throw new ReportParseError(
      'report.invalid_field',
      `${what}: date_range ends (${end.toISOString()}) before it begins (${begin.toISOString()})`,
    );
  const domain = domainName(meta.domain);
  if (domain === null) throw missing('policy_published/domain');
  const pct = nonNegativeInteger(meta.pct);
  if (clean(meta.pct) !== null && (pct === null || pct > 100))
    warn(`policy_published/pct ${JSON.stringify(clean(meta.pct)?.slice(0, 16))} is not 0-100; ignored`);
  return {
    format: meta.format,
    version: meta.version,
    orgName: clean(meta.orgName) ?? '',
    email: clean(meta.email),
    extraContactInfo: clean(meta.extraContactInfo),
    reportId,
    dateRange: { begin, end },
    errors: meta.errors,
    generator: clean(meta.generator),
    policyPublished: {
      domain,
      adkim: alignmentMode(meta.adkim),
      aspf: alignmentMode(meta.aspf),
      p: lower(meta.p),
      sp: lower(meta.sp),
      pct: pct !== null && pct <= 100 ? pct : null,
      np: lower(meta.np),
      fo: clean(meta.fo),
      testing: yesNo(meta.testing),
      discoveryMethod: lower(meta.discoveryMethod),
    },
  };
}
