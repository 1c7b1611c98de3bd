/**
 * Finding the BIMI Assertion Record (BIMI draft, "Assertion Record Discovery"): TXT at
 * `<selector>._bimi.<author domain>`, then at `<selector>._bimi.<organizational domain>`. When a
 * non-default selector has no record we also try `default` (Mail::BIMI does; the draft's text on
 * this fallback has changed between revisions, so treat it as our choice).
 */
import type { Resolver, UnknownReason } from '@mailwarden/core';
import { organizationalDomain } from '../dmarc/org-domain.ts';
import { joinTxt, normalizeDnsName } from '../shared/dns-name.ts';
import { isBimiRecord, looksLikeIgnoredBimi } from './record.ts';

export const DEFAULT_SELECTOR = 'default';

export interface BimiDiscovery {
  status: 'found' | 'none' | 'multiple' | 'unknown';
  /** The name the record (or the several records, or the failure) was at. */
  name: string | null;
  record: string | null;
  /** With status multiple: the records (first few). */
  records: string[];
  queried: string[];
  /** TXT records meant as BIMI that receivers ignore. */
  ignored: Array<{ name: string; record: string }>;
  unknownReason: UnknownReason | null;
}

export function candidateNames(domain: string, selector: string): string[] {
  const org = organizationalDomain(domain);
  const selectors = selector === DEFAULT_SELECTOR ? [selector] : [selector, DEFAULT_SELECTOR];
  const names: string[] = [];
  for (const s of selectors) {
    for (const d of org === domain ? [domain] : [domain, org]) {
      const name = normalizeDnsName(`${s}._bimi.${d}`);
      if (name !== null && !names.includes(name)) names.push(name);
    }
  }
  return names;
}

export async function discoverBimi(
  domain: string,
  selector: string,
  resolver: Resolver,
): Promise<BimiDiscovery> {
  const result: BimiDiscovery = {
    status: 'none',
    name: null,
    record: null,
    records: [],
    queried: [],
    ignored: [],
    unknownReason: null,
  };
  for (const name of candidateNames(domain, selector)) {
    result.queried.push(name);
    const answer = await resolver.query(name, 'TXT');
    if (answer.status === 'unknown') {
      return { ...result, status: 'unknown', name, unknownReason: answer.reason };
    }
    const texts = answer.status === 'answer' ? answer.records.map(joinTxt) : [];
    for (const record of texts.filter(looksLikeIgnoredBimi)) result.ignored.push({ name, record });
    const records = texts.filter(isBimiRecord);
    if (records.length === 1) return { ...result, status: 'found', name, record: records[0] ?? null };
    if (records.length > 1) return { ...result, status: 'multiple', name, records: records.slice(0, 5) };
  }
  return result;
}
