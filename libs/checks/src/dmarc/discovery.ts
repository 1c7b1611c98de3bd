/**
 * DMARC policy discovery, both ways receivers do it today:
 *
 * - RFC 7489 §6.6.3: `_dmarc.<domain>`, and if no record is there, `_dmarc.<organizational
 *   domain>` from the Public Suffix List (org-domain.ts). Several records end discovery: no policy.
 * - RFC 9989 §4.10: the DNS Tree Walk up to the root, at most 8 queries; several records at a name
 *   are discarded and the walk goes on. §4.10.2 finds the Organizational Domain from the records
 *   met and their psd tags; §4.10.1 takes the Author Domain's record, else the Organizational
 *   Domain's, else the record of the Public Suffix Domain (psd=y) above it.
 *
 * Both results are returned; the check reports where they differ.
 */
import type { DnsResult, Resolver, UnknownReason } from '@mailwarden/core';
import { joinTxt, normalizeDnsName } from '../shared/dns-name.ts';
import { organizationalDomain } from './org-domain.ts';
import { isDmarcRecord, looksLikeIgnoredDmarc, parseDmarcRecord } from './record.ts';

/** RFC 9989 §4.10: a walk asks at most 8 names. */
export const TREE_WALK_MAX_QUERIES = 8;
/** RFC 9989 §4.10: a name of more than 7 labels is shortened to its last 7 after the first query. */
export const TREE_WALK_SHORTCUT_LABELS = 7;

/** What `_dmarc.<name>` holds. */
export type NameOutcome =
  | { kind: 'none'; ignored: string[] }
  | { kind: 'single'; record: string; ignored: string[] }
  | { kind: 'multiple'; records: string[]; ignored: string[] }
  | { kind: 'unknown'; reason: UnknownReason };

export interface DiscoveryResult {
  spec: 'rfc7489' | 'rfc9989';
  /** found: one record applies; none / multiple: no policy; unknown: DNS could not tell. */
  status: 'found' | 'none' | 'multiple' | 'unknown';
  /** The domain whose `_dmarc` record applies. */
  policyDomain: string | null;
  record: string | null;
  /** Null when the walk could not finish. */
  organizationalDomain: string | null;
  /** Domains whose `_dmarc` names were asked, in order. */
  queried: string[];
  /** Domains at which several v=DMARC1 records were found (and discarded). */
  multipleAt: string[];
  /** The first name whose lookup ended in `unknown`, with the reason. */
  unknownAt: { domain: string; reason: UnknownReason } | null;
}

export interface DiscoveryOutcomes {
  rfc7489: DiscoveryResult;
  rfc9989: DiscoveryResult;
  /** TXT records at the names asked that look like DMARC but are ignored, by domain. */
  ignoredRecords: Array<{ domain: string; record: string }>;
}

function classify(result: DnsResult<'TXT'>): NameOutcome {
  if (result.status === 'unknown') return { kind: 'unknown', reason: result.reason };
  if (result.status !== 'answer') return { kind: 'none', ignored: [] };
  const texts = result.records.map(joinTxt);
  // RFC 7489 §6.6.3 step 2 / RFC 9989 §4.10 step 2: records not starting with v=DMARC1 are discarded.
  const records = texts.filter(isDmarcRecord);
  const ignored = texts.filter(looksLikeIgnoredDmarc);
  if (records.length === 0) return { kind: 'none', ignored };
  if (records.length === 1) return { kind: 'single', record: records[0] ?? '', ignored };
  return { kind: 'multiple', records, ignored };
}

/** Looks up `_dmarc.<domain>`. Names that would be too long cannot exist: no record. */
export function dmarcLookup(resolver: Resolver) {
  return async (domain: string): Promise<NameOutcome> => {
    const name = normalizeDnsName(`_dmarc.${domain}`);
    if (name === null) return { kind: 'none', ignored: [] };
    return classify(await resolver.query(name, 'TXT'));
  };
}

/** RFC 9989 §4.10 steps 4-5: the names a walk from `domain` asks, longest first. */
export function treeWalkNames(domain: string): string[] {
  const names = [domain];
  let labels = domain.split('.');
  while (labels.length > 1) {
    labels =
      labels.length > TREE_WALK_SHORTCUT_LABELS ? labels.slice(-TREE_WALK_SHORTCUT_LABELS) : labels.slice(1);
    names.push(labels.join('.'));
  }
  return names;
}

function emptyResult(spec: DiscoveryResult['spec']): DiscoveryResult {
  return {
    spec,
    status: 'none',
    policyDomain: null,
    record: null,
    organizationalDomain: null,
    queried: [],
    multipleAt: [],
    unknownAt: null,
  };
}

type Lookup = (domain: string) => Promise<NameOutcome>;

function apply(result: DiscoveryResult, domain: string, outcome: NameOutcome): boolean {
  result.queried.push(domain);
  if (outcome.kind === 'unknown') {
    result.status = 'unknown';
    result.unknownAt = { domain, reason: outcome.reason };
    return true;
  }
  if (outcome.kind === 'multiple') {
    result.multipleAt.push(domain);
    result.status = 'multiple';
    result.policyDomain = domain;
    return true;
  }
  if (outcome.kind === 'single') {
    result.status = 'found';
    result.policyDomain = domain;
    result.record = outcome.record;
    return true;
  }
  return false;
}

/** RFC 7489 §6.6.3 steps 1-5. */
export async function discoverRfc7489(domain: string, lookup: Lookup): Promise<DiscoveryResult> {
  const result = emptyResult('rfc7489');
  const orgDomain = organizationalDomain(domain);
  result.organizationalDomain = orgDomain;
  if (apply(result, domain, await lookup(domain))) return result;
  if (orgDomain !== domain) apply(result, orgDomain, await lookup(orgDomain));
  return result;
}

interface WalkStep {
  domain: string;
  outcome: NameOutcome;
  psd: 'y' | 'n' | 'u' | null;
}

/** RFC 9989 §4.10.2: the Organizational Domain from the walk's records, longest name first. */
function organizationalDomainFromWalk(
  author: string,
  steps: WalkStep[],
): { org: string; psdDomain: string | null } {
  const withRecord = steps.filter((step) => step.outcome.kind === 'single');
  const psdNo = withRecord.find((step) => step.psd === 'n');
  const psdYes = withRecord.find((step) => step.psd === 'y' && step.domain !== author);
  // The walk stops at the first psd=n record, or psd=y record above the author, so at most one
  // of the two exists.
  if (psdNo) return { org: psdNo.domain, psdDomain: null };
  if (psdYes) {
    // One label below the Public Suffix Domain, on the way to the author domain.
    const depth = psdYes.domain.split('.').length + 1;
    return { org: author.split('.').slice(-depth).join('.'), psdDomain: psdYes.domain };
  }
  const fewestLabels = withRecord.at(-1);
  return { org: fewestLabels ? fewestLabels.domain : author, psdDomain: null };
}

/** RFC 9989 §4.10, §4.10.1, §4.10.2. */
export async function discoverRfc9989(domain: string, lookup: Lookup): Promise<DiscoveryResult> {
  const result = emptyResult('rfc9989');
  const steps: WalkStep[] = [];
  for (const name of treeWalkNames(domain)) {
    const outcome = await lookup(name);
    result.queried.push(name);
    if (outcome.kind === 'unknown') {
      result.unknownAt = { domain: name, reason: outcome.reason };
      break;
    }
    if (outcome.kind === 'multiple') result.multipleAt.push(name);
    const psd = outcome.kind === 'single' ? parseDmarcRecord(outcome.record).psd : null;
    steps.push({ domain: name, outcome, psd });
    if (psd === 'n' || (psd === 'y' && name !== domain)) break;
  }
  const authorStep = steps[0];
  const authorRecord =
    authorStep?.domain === domain && authorStep.outcome.kind === 'single' ? authorStep.outcome : null;
  if (result.unknownAt) {
    // The author's own record applies whatever lies above it (§4.10.1); only the
    // Organizational Domain stays unknown.
    if (authorRecord) {
      result.status = 'found';
      result.policyDomain = domain;
      result.record = authorRecord.record;
    } else {
      result.status = 'unknown';
    }
    return result;
  }
  const { org, psdDomain } = organizationalDomainFromWalk(domain, steps);
  result.organizationalDomain = org;
  const recordAt = (name: string | null) => {
    const step = steps.find((s) => s.domain === name);
    return step?.outcome.kind === 'single' ? step.outcome.record : null;
  };
  const candidates = [domain, org, psdDomain];
  for (const candidate of candidates) {
    const record = recordAt(candidate);
    if (record !== null && candidate !== null) {
      result.status = 'found';
      result.policyDomain = candidate;
      result.record = record;
      return result;
    }
  }
  result.status = result.multipleAt.includes(domain) ? 'multiple' : 'none';
  if (result.status === 'multiple') result.policyDomain = domain;
  return result;
}

/** Runs both discoveries; each `_dmarc` name is asked once (the resolver should be memoised). */
export async function discoverDmarc(domain: string, resolver: Resolver): Promise<DiscoveryOutcomes> {
  const seen = new Map<string, Promise<NameOutcome>>();
  const base = dmarcLookup(resolver);
  const ignoredRecords: DiscoveryOutcomes['ignoredRecords'] = [];
  const lookup: Lookup = (name) => {
    let outcome = seen.get(name);
    if (!outcome) {
      outcome = base(name).then((o) => {
        if (o.kind !== 'unknown')
          for (const record of o.ignored) ignoredRecords.push({ domain: name, record });
        return o;
      });
      seen.set(name, outcome);
    }
    return outcome;
  };
  const rfc9989 = await discoverRfc9989(domain, lookup);
  const rfc7489 = await discoverRfc7489(domain, lookup);
  return { rfc7489, rfc9989, ignoredRecords };
}
