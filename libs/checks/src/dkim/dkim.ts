/**
 * The DKIM check: for a domain and a set of selectors, fetches and judges each key record
 * (`<selector>._domainkey.<domain>` TXT, RFC 6376 §3.6.2.1).
 *
 * The RFC 8020 probe: `_domainkey.<domain>` is asked first. NXDOMAIN proves that nothing exists
 * below it (RFC 8020 §2), so no selector can exist and the common-selector guesses are skipped;
 * NODATA or an answer means the node exists. Explicitly given selectors are still asked after an
 * NXDOMAIN: some servers wrongly deny empty non-terminals, and finding a key then is itself a
 * finding (`dkim.domainkey_nxdomain`).
 *
 * Status: `unknown` when a lookup could not be answered; proven findings are still listed.
 */
import type { Resolver } from '@mailwarden/core';
import { type CheckResult, type Finding, resultOf } from '../findings.ts';
import { clip, joinTxt, normalizeDnsName } from '../shared/dns-name.ts';
import { dkimFindings as F } from './dkim-findings.ts';
import { analyseKeyRecord, type DkimKeyFacts } from './key-findings.ts';
import { looksLikeKeyRecord } from './key-record.ts';
import { planSelectors, type SelectorPlan } from './selectors.ts';

export interface DkimCheckInput {
  resolver: Resolver;
  /** Selectors known for the domain: tenant configuration, selectors seen in DMARC reports. */
  selectors?: readonly string[];
  /** Also try COMMON_DKIM_SELECTORS. Default true. */
  probeCommonSelectors?: boolean;
}

export interface DkimSelectorFacts {
  selector: string;
  /** The TXT name asked. */
  name: string;
  source: SelectorPlan['source'];
  status: 'found' | 'absent' | 'unknown';
  keys: DkimKeyFacts[];
}

export interface DkimFacts {
  domain: string;
  /** RFC 8020 probe of `_domainkey.<domain>`. */
  domainkeyNode: 'exists' | 'nxdomain' | 'unknown';
  /** Every selector asked, in order. */
  selectorsTried: string[];
  /** Selectors with a key record (revoked keys included). */
  selectorsFound: string[];
  /** Details of the selectors that were found, given, or not answered. */
  selectors: DkimSelectorFacts[];
  /** Given selectors beyond MAX_SELECTORS_PER_DOMAIN, not asked. */
  selectorsDropped: number;
}

interface SelectorOutcome {
  facts: DkimSelectorFacts;
  findings: Finding[];
  unknownReason?: string;
}

async function checkSelector(
  domain: string,
  plan: SelectorPlan,
  resolver: Resolver,
): Promise<SelectorOutcome | null> {
  const name = normalizeDnsName(`${plan.selector}._domainkey.${domain}`);
  const facts: DkimSelectorFacts = {
    selector: plan.selector,
    name: name ?? '',
    source: plan.source,
    status: 'absent',
    keys: [],
  };
  if (name === null) {
    const finding = F.invalid_selector.make(
      plan.selector,
      `${plan.selector}._domainkey.${domain} is longer than DNS allows.`,
    );
    return { facts, findings: plan.source === 'given' ? [finding] : [] };
  }
  const result = await resolver.query(name, 'TXT');
  if (result.status === 'unknown') {
    facts.status = 'unknown';
    const finding = F.lookup_unknown.make(name, `The lookup of ${name} failed (${result.reason}).`, {
      name,
      reason: result.reason,
    });
    return { facts, findings: [finding], unknownReason: result.reason };
  }
  // Guessed selectors only count records that look like keys: a wildcard TXT at the domain
  // would otherwise turn every guess into a broken "key".
  const texts = result.status === 'answer' ? result.records.map(joinTxt) : [];
  const records = plan.source === 'given' ? texts : texts.filter(looksLikeKeyRecord);
  if (records.length === 0) {
    if (plan.source === 'common') return null;
    const finding = F.selector_missing.make(name, `No DKIM key record at ${name} (${result.status}).`, {
      name,
      status: result.status,
    });
    return { facts, findings: [finding] };
  }
  facts.status = 'found';
  const findings: Finding[] = [];
  if (records.length > 1) {
    findings.push(
      F.multiple_records.make(name, `${name} has ${records.length} TXT records.`, {
        records: records.slice(0, 5).map((r) => clip(r, 256)),
      }),
    );
  }
  for (const record of records.slice(0, 5)) {
    const analysis = analyseKeyRecord(name, record);
    facts.keys.push(analysis.facts);
    findings.push(...analysis.findings);
  }
  return { facts, findings };
}

async function probeDomainkey(domain: string, resolver: Resolver): Promise<DkimFacts['domainkeyNode']> {
  const name = normalizeDnsName(`_domainkey.${domain}`);
  if (name === null) return 'nxdomain';
  const result = await resolver.query(name, 'TXT');
  if (result.status === 'unknown') return 'unknown';
  return result.status === 'nxdomain' ? 'nxdomain' : 'exists';
}

/**
 * Checks the DKIM keys of `domain`. Throws only when `domain` is not a DNS name (a caller bug).
 */
export async function checkDkim(domain: string, input: DkimCheckInput): Promise<CheckResult<DkimFacts>> {
  const name = normalizeDnsName(domain);
  if (name === null) throw new RangeError(`checkDkim: not a domain name: ${clip(domain, 80)}`);
  const { resolver } = input;
  const domainkeyNode = await probeDomainkey(name, resolver);
  // RFC 8020 §2: after NXDOMAIN nothing below exists; guessing would only cost queries.
  const includeCommon = (input.probeCommonSelectors ?? true) && domainkeyNode !== 'nxdomain';
  const { plan, invalid, dropped } = planSelectors(input.selectors ?? [], includeCommon);
  const findings: Finding[] = invalid.slice(0, 10).map((raw) =>
    F.invalid_selector.make(clip(raw, 80), `"${clip(raw, 80)}" is not a valid DKIM selector.`, {
      selector: clip(raw, 256),
    }),
  );
  const outcomes = (await Promise.all(plan.map((p) => checkSelector(name, p, resolver)))).filter(
    (o) => o !== null,
  );
  const facts: DkimFacts = {
    domain: name,
    domainkeyNode,
    selectorsTried: plan.map((p) => p.selector),
    selectorsFound: outcomes.filter((o) => o.facts.status === 'found').map((o) => o.facts.selector),
    selectors: outcomes.map((o) => o.facts),
    selectorsDropped: dropped,
  };
  for (const outcome of outcomes) findings.push(...outcome.findings);

  const unknown = domainkeyNode === 'unknown' || outcomes.some((o) => o.unknownReason !== undefined);
  if (domainkeyNode === 'unknown') {
    findings.push(
      F.lookup_unknown.make(`_domainkey.${name}`, `The lookup of _domainkey.${name} failed.`, {
        name: `_domainkey.${name}`,
      }),
    );
  }
  if (facts.selectorsFound.length > 0 && domainkeyNode === 'nxdomain') {
    findings.push(
      F.domainkey_nxdomain.make(
        `_domainkey.${name}`,
        `_domainkey.${name} answers NXDOMAIN, yet ${facts.selectorsFound.join(', ')} exist below it.`,
        {
          selectors: facts.selectorsFound,
        },
      ),
    );
  }
  if (facts.selectorsFound.length === 0 && !unknown) {
    const message =
      domainkeyNode === 'nxdomain'
        ? `_domainkey.${name} does not exist, so no DKIM key is published for ${name}.`
        : `No DKIM key found for ${name} under ${plan.length} known or common selectors.`;
    findings.push(
      F.no_selector_found.make(name, message, { domainkeyNode, selectorsTried: facts.selectorsTried }),
    );
  }
  return resultOf('dkim', facts, findings, unknown);
}
