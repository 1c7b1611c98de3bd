/**
 * The BIMI check, record level: the Assertion Record, the DMARC enforcement BIMI needs, the logo
 * (reachable over HTTPS, SVG Tiny PS basics) and whether an evidence document (VMC/CMC) is
 * published and holds certificates. Full VMC validation is out of scope (see evidence.ts).
 *
 * I/O is injected: DNS through the Resolver, HTTPS through `fetchResource` (libs/net implements it
 * behind the SSRF guard). Status `unknown` when a lookup or fetch failed transiently or the DMARC
 * result was unknown; the findings listed are still proven.
 */
import type { Resolver } from '@mailwarden/core';
import type { DmarcFacts } from '../dmarc/dmarc.ts';
import { type CheckResult, type Finding, resultOf } from '../findings.ts';
import { clip, normalizeDnsName } from '../shared/dns-name.ts';
import { checkEvidence, checkLogo, type EvidenceFacts, type LogoFacts } from './assets.ts';
import { bimiFindings as F } from './bimi-findings.ts';
import { DEFAULT_SELECTOR, discoverBimi } from './discovery.ts';
import { dmarcEnforcement } from './dmarc-requirement.ts';
import type { FetchResource } from './fetch.ts';
import { parseBimiRecord } from './record.ts';

export interface BimiCheckInput {
  resolver: Resolver;
  fetchResource: FetchResource;
  /** The DMARC result for the same domain: BIMI requires DMARC at enforcement. */
  dmarc: CheckResult<DmarcFacts>;
  /** The BIMI selector (the BIMI-Selector header's s=); "default" when not given. */
  selector?: string;
}

export interface BimiFacts {
  domain: string;
  selector: string;
  /** Where the record was found. */
  name: string | null;
  record: string | null;
  queried: string[];
  /** l= and a= both empty: the domain declines BIMI. */
  declined: boolean;
  logoUri: string | null;
  evidenceUri: string | null;
  dmarcEnforced: boolean | null;
  logo: LogoFacts | null;
  evidence: EvidenceFacts | null;
}

/**
 * Checks the BIMI record of `domain`. Throws only when `domain` or `selector` is not a DNS name
 * (a caller bug).
 */
export async function checkBimi(domain: string, input: BimiCheckInput): Promise<CheckResult<BimiFacts>> {
  const name = normalizeDnsName(domain);
  const selector = normalizeDnsName(input.selector ?? DEFAULT_SELECTOR);
  if (name === null || selector === null) {
    throw new RangeError(`checkBimi: not a domain or selector: ${clip(domain, 80)}`);
  }
  if (input.dmarc.facts.domain !== name) {
    throw new RangeError(`checkBimi: the DMARC result is for ${input.dmarc.facts.domain}, not ${name}`);
  }
  const discovery = await discoverBimi(name, selector, input.resolver);
  const facts: BimiFacts = {
    domain: name,
    selector,
    name: discovery.name,
    record: discovery.record === null ? null : clip(discovery.record),
    queried: discovery.queried,
    declined: false,
    logoUri: null,
    evidenceUri: null,
    dmarcEnforced: null,
    logo: null,
    evidence: null,
  };
  const findings: Finding[] = discovery.ignored
    .slice(0, 3)
    .map((i) =>
      F.syntax_error.make(
        i.name,
        `${i.name} has a record that looks like BIMI but does not start with v=BIMI1; receivers ignore it.`,
        { record: clip(i.record) },
      ),
    );
  if (discovery.status === 'unknown') {
    findings.push(
      F.lookup_unknown.make(name, `The lookup of ${discovery.name} failed (${discovery.unknownReason}).`, {
        name: discovery.name,
      }),
    );
    return resultOf('bimi', facts, findings, true);
  }
  if (discovery.status === 'multiple') {
    findings.push(
      F.multiple_records.make(
        discovery.name ?? name,
        `${discovery.name} has several v=BIMI1 records; receivers ignore them.`,
        { records: discovery.records.map((r) => clip(r, 256)) },
      ),
    );
    return resultOf('bimi', facts, findings);
  }
  if (discovery.status === 'none' || discovery.record === null) {
    findings.push(
      F.missing.make(name, `No BIMI record at ${discovery.queried.join(' or ')}.`, {
        queried: discovery.queried,
      }),
    );
    return resultOf('bimi', facts, findings);
  }
  const subject = discovery.name ?? name;
  const record = parseBimiRecord(discovery.record);
  Object.assign(facts, {
    declined: record.declined,
    logoUri: record.logoUris[0] ?? null,
    evidenceUri: record.evidenceUri,
  });
  for (const error of record.syntaxErrors.slice(0, 10)) {
    findings.push(F.syntax_error.make(subject, `BIMI record: ${error}.`, { record: clip(record.raw) }));
  }
  if (record.declined) return resultOf('bimi', facts, findings);

  const enforcement = dmarcEnforcement(input.dmarc);
  facts.dmarcEnforced = enforcement.enforced;
  let unknown = enforcement.enforced === null;
  if (enforcement.enforced === false) {
    findings.push(
      F.dmarc_not_enforced.make(name, `BIMI logos are not shown: ${enforcement.reasons.join('; ')}.`, {
        reasons: enforcement.reasons,
      }),
    );
  } else if (enforcement.enforced === null) {
    findings.push(
      F.lookup_unknown.make(
        name,
        'The DMARC result is unknown, so the BIMI DMARC requirement could not be judged.',
        {},
      ),
    );
  }
  const [logo, evidence] = await Promise.all([
    facts.logoUri !== null ? checkLogo(facts.logoUri, input.fetchResource, subject) : null,
    record.evidenceUri !== null && /^https:/i.test(record.evidenceUri)
      ? checkEvidence(record.evidenceUri, input.fetchResource, subject)
      : null,
  ]);
  facts.logo = logo?.facts ?? null;
  facts.evidence = evidence?.facts ?? null;
  for (const outcome of [logo, evidence]) {
    if (!outcome) continue;
    findings.push(...outcome.findings);
    unknown ||= outcome.unknown;
  }
  if (record.evidenceUri === null) {
    findings.push(
      F.no_vmc.make(subject, 'The BIMI record names no evidence document (a=): no VMC or CMC.', {
        record: clip(record.raw),
      }),
    );
  }
  return resultOf('bimi', facts, findings, unknown);
}
