/**
 * DMARC alignment of an aggregate record (RFC 7489 §3.1, §6.6.2): DMARC passes when DKIM or SPF
 * passes *aligned*. Reporters state the aligned results in policy_evaluated, which is what
 * counts; only when they left them out is alignment derived from auth_results and header_from.
 */
import type { AggregateRecord, Alignment } from './aggregate-types.ts';

export interface RecordAlignment {
  dkim: boolean;
  spf: boolean;
  /** dkim || spf */
  dmarc: boolean;
  /** `reported`: from policy_evaluated; `derived`: from auth_results (a reporter left it out). */
  basis: 'reported' | 'derived';
}

export interface AlignmentOptions {
  adkim?: Alignment | null;
  aspf?: Alignment | null;
  /**
   * The organisational domain (RFC 7489 §3.2, a Public Suffix List walk or RFC 9990 tree walk),
   * for relaxed alignment when it must be derived. Without it, relaxed means equal or a parent
   * and child of each other, which is right for every domain below a one-label suffix.
   */
  organizationalDomain?: (domain: string) => string;
}

function aligned(
  identifier: string | null,
  headerFrom: string,
  mode: Alignment,
  options: AlignmentOptions,
): boolean {
  if (identifier === null) return false;
  if (identifier === headerFrom) return true;
  if (mode === 's') return false;
  if (options.organizationalDomain)
    return options.organizationalDomain(identifier) === options.organizationalDomain(headerFrom);
  return identifier.endsWith(`.${headerFrom}`) || headerFrom.endsWith(`.${identifier}`);
}

export function recordAlignment(record: AggregateRecord, options: AlignmentOptions = {}): RecordAlignment {
  const evaluated = record.policyEvaluated;
  if (evaluated.dkim !== null || evaluated.spf !== null) {
    const dkim = evaluated.dkim === 'pass';
    const spf = evaluated.spf === 'pass';
    return { dkim, spf, dmarc: dkim || spf, basis: 'reported' };
  }
  const headerFrom = record.identifiers.headerFrom;
  if (headerFrom === null) return { dkim: false, spf: false, dmarc: false, basis: 'derived' };
  const dkim = record.authResults.dkim.some(
    (result) => result.result === 'pass' && aligned(result.domain, headerFrom, options.adkim ?? 'r', options),
  );
  const spf = record.authResults.spf.some(
    (result) =>
      result.result === 'pass' &&
      (result.scope === null || result.scope === 'mfrom') &&
      aligned(result.domain, headerFrom, options.aspf ?? 'r', options),
  );
  return { dkim, spf, dmarc: dkim || spf, basis: 'derived' };
}

export function dmarcPass(record: AggregateRecord, options: AlignmentOptions = {}): boolean {
  return recordAlignment(record, options).dmarc;
}
