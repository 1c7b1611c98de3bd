/**
 * The DMARC check: finds the policy that applies to a domain (RFC 7489 and RFC 9989 discovery),
 * validates the record, judges its strength and verifies external report destinations.
 *
 * The record analysed is the one RFC 9989 receivers use (the current standard), or RFC 7489's
 * when only that discovery finds one; `dmarc.discovery_mismatch` says when the two disagree.
 *
 * Status: `unknown` when a lookup could not be answered. The findings then listed are each proven
 * by answers we did get; a finding's absence proves nothing.
 */
import type { Resolver } from '@mailwarden/core';
import { type CheckResult, type Finding, resultOf } from '../findings.ts';
import { clip, normalizeDnsName } from '../shared/dns-name.ts';
import { memoizeResolver } from '../shared/memo-resolver.ts';
import { type DiscoveryResult, discoverDmarc } from './discovery.ts';
import { dmarcFindings as F } from './dmarc-findings.ts';
import { organizationalDomain } from './org-domain.ts';
import { type PolicyFacts, policyFacts, policyFindings, recordFindings } from './policy.ts';
import { DMARC_TAGS, type DmarcRecord, parseDmarcRecord } from './record.ts';
import { type ReportDestination, verifyReportDestinations } from './report-destinations.ts';

export interface DmarcCheckInput {
  resolver: Resolver;
}

export interface DmarcFacts extends Partial<PolicyFacts> {
  domain: string;
  /** The record analysed, as published (clipped when huge), or null. */
  record: string | null;
  /** The domain whose `_dmarc` name holds it. */
  recordDomain: string | null;
  /** Which discovery found it. */
  foundBy: 'rfc9989' | 'rfc7489' | null;
  /** The DMARC tags of the record (first value of each; unknown tags are in dmarc.unknown_tag). */
  tags: Record<string, string> | null;
  /** Organizational Domain per the Public Suffix List (RFC 7489 §3.2). */
  organizationalDomainPsl: string;
  /** Organizational Domain per the DNS Tree Walk (RFC 9989 §4.10.2), null when unknown. */
  organizationalDomainTreeWalk: string | null;
  discovery: { rfc7489: DiscoveryResult; rfc9989: DiscoveryResult; agree: boolean };
  /** Only asked when np could apply (the record is inherited and has np). */
  domainExists: boolean | null;
  reportDestinations: ReportDestination[];
}

function sameOutcome(a: DiscoveryResult, b: DiscoveryResult): boolean {
  return a.status === b.status && a.policyDomain === b.policyDomain && a.record === b.record;
}

/** Facts keep the discovery results with records clipped: a hostile record must not bloat them. */
function forFacts(result: DiscoveryResult): DiscoveryResult {
  return { ...result, record: result.record === null ? null : clip(result.record) };
}

function describe(result: DiscoveryResult): string {
  if (result.status === 'found') return `the record of ${result.policyDomain}`;
  if (result.status === 'multiple') return `several records at ${result.policyDomain} (no policy)`;
  return result.status === 'unknown' ? 'no answer' : 'no record';
}

/** Whether `domain` exists, for np (RFC 9989 §4.10.1): NXDOMAIN for any type means no name. */
async function domainExists(domain: string, resolver: Resolver): Promise<boolean | null> {
  const result = await resolver.query(domain, 'A');
  if (result.status === 'unknown') return null;
  return result.status !== 'nxdomain';
}

function discoveryFindings(domain: string, rfc7489: DiscoveryResult, rfc9989: DiscoveryResult): Finding[] {
  const findings: Finding[] = [];
  const multipleAt = new Set([...rfc9989.multipleAt, ...rfc7489.multipleAt]);
  for (const at of multipleAt) {
    findings.push(
      F.multiple_records.make(at, `_dmarc.${at} has several v=DMARC1 records; receivers discard them all.`, {
        name: `_dmarc.${at}`,
      }),
    );
  }
  const unknowns = [rfc9989.unknownAt, rfc7489.unknownAt].filter((u) => u !== null);
  for (const unknown of new Map(unknowns.map((u) => [u.domain, u])).values()) {
    findings.push(
      F.lookup_unknown.make(domain, `The lookup of _dmarc.${unknown.domain} failed (${unknown.reason}).`, {
        name: `_dmarc.${unknown.domain}`,
        reason: unknown.reason,
      }),
    );
  }
  const comparable = rfc7489.status !== 'unknown' && rfc9989.status !== 'unknown';
  if (comparable && !sameOutcome(rfc7489, rfc9989)) {
    findings.push(
      F.discovery_mismatch.make(
        domain,
        `RFC 7489 receivers use ${describe(rfc7489)}; RFC 9989 receivers use ${describe(rfc9989)}.`,
        {
          rfc7489: {
            status: rfc7489.status,
            policyDomain: rfc7489.policyDomain,
            record: forFacts(rfc7489).record,
          },
          rfc9989: {
            status: rfc9989.status,
            policyDomain: rfc9989.policyDomain,
            record: forFacts(rfc9989).record,
          },
        },
      ),
    );
  }
  return findings;
}

function destinationFindings(domain: string, destinations: ReportDestination[]): Finding[] {
  const findings: Finding[] = [];
  for (const d of destinations) {
    if (d.authorization === 'unauthorized') {
      findings.push(
        F.external_destination_unauthorized.make(
          domain,
          `${d.tag} ${d.uri}: ${d.host} has not authorised reports for this domain.`,
          {
            tag: d.tag,
            uri: d.uri,
            host: d.host,
            verificationName: d.verificationName ?? null,
            reason: d.reason ?? null,
          },
        ),
      );
    } else if (d.authorization === 'unknown') {
      findings.push(
        F.lookup_unknown.make(
          domain,
          `The authorisation lookup ${d.verificationName} failed (${d.reason}).`,
          {
            name: d.verificationName ?? null,
            reason: d.reason ?? null,
          },
        ),
      );
    }
  }
  return findings;
}

/**
 * Checks the DMARC policy of `domain`. Throws only when `domain` is not a DNS name (a caller bug);
 * every DNS outcome is data.
 */
export async function checkDmarc(domain: string, input: DmarcCheckInput): Promise<CheckResult<DmarcFacts>> {
  const name = normalizeDnsName(domain);
  if (name === null) throw new RangeError(`checkDmarc: not a domain name: ${clip(domain, 80)}`);
  const resolver = memoizeResolver(input.resolver);
  const { rfc7489, rfc9989, ignoredRecords } = await discoverDmarc(name, resolver);
  const primary = rfc9989.status === 'found' ? rfc9989 : rfc7489.status === 'found' ? rfc7489 : null;
  const facts: DmarcFacts = {
    domain: name,
    record: primary?.record ? clip(primary.record) : null,
    recordDomain: primary?.policyDomain ?? null,
    foundBy: primary?.spec ?? null,
    tags: null,
    organizationalDomainPsl: organizationalDomain(name),
    organizationalDomainTreeWalk: rfc9989.organizationalDomain,
    discovery: {
      rfc7489: forFacts(rfc7489),
      rfc9989: forFacts(rfc9989),
      agree: sameOutcome(rfc7489, rfc9989),
    },
    domainExists: null,
    reportDestinations: [],
  };
  const findings = discoveryFindings(name, rfc7489, rfc9989);
  for (const ignored of ignoredRecords.slice(0, 3)) {
    findings.push(
      F.syntax_error.make(
        ignored.domain,
        `_dmarc.${ignored.domain} has a TXT record that looks like DMARC but does not start with "v=DMARC1"; receivers ignore it.`,
        {
          record: clip(ignored.record),
        },
      ),
    );
  }
  const discoveryUnknown = rfc9989.status === 'unknown' || rfc7489.status === 'unknown';
  if (!primary || primary.record === null || primary.policyDomain === null) {
    if (discoveryUnknown) return resultOf('dmarc', facts, findings, true);
    if (!findings.some((f) => f.code === F.multiple_records.code)) {
      findings.push(
        F.missing.make(name, `No DMARC record at _dmarc.${name} or any parent domain.`, {
          queried: rfc9989.queried,
        }),
      );
    }
    return resultOf('dmarc', facts, findings);
  }
  const record: DmarcRecord = parseDmarcRecord(primary.record);
  const recordDomain = primary.policyDomain;
  facts.tags = Object.fromEntries(
    Object.entries(record.tags).flatMap(([k, v]) => (DMARC_TAGS.has(k) ? [[k, clip(v, 256)]] : [])),
  );
  const askExistence = recordDomain !== name && record.np !== null;
  if (askExistence) facts.domainExists = await domainExists(name, resolver);
  const existenceUnknown = askExistence && facts.domainExists === null;
  if (existenceUnknown) {
    findings.push(
      F.lookup_unknown.make(
        name,
        `Whether ${name} exists could not be determined, so np may apply instead of sp.`,
        { name },
      ),
    );
  }
  const ctx = {
    domain: name,
    recordDomain,
    organizationalDomain: primary.organizationalDomain ?? facts.organizationalDomainPsl,
    record,
    domainExists: facts.domainExists,
  };
  const policy = policyFacts(ctx);
  Object.assign(facts, policy);
  findings.push(...recordFindings(recordDomain, record), ...policyFindings(ctx, policy));
  facts.reportDestinations = await verifyReportDestinations(recordDomain, record, resolver);
  findings.push(...destinationFindings(name, facts.reportDestinations));
  const unknown =
    discoveryUnknown ||
    existenceUnknown ||
    facts.reportDestinations.some((d) => d.authorization === 'unknown');
  return resultOf('dmarc', facts, findings, unknown);
}
