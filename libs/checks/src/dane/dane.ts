/**
 * The DANE check for SMTP (RFC 7672): per MX host, the TLSA RRset at `_25._tcp.<host>`, which
 * counts only when DNSSEC-validated, and only for MX hosts found through a validated MX lookup
 * (§2.2.1). Records are judged for SMTP use (usages 2 and 3) and for rollover readiness; matching
 * against a presented certificate chain is `matchTlsa`, used by the MX probe.
 */
import type { Resolver, TlsaData } from '@mailwarden/core';
import type { TrustAnchor } from '../dnssec/trust-anchors.ts';
import { createDnssecValidator, type DnssecValidator, type Verdict } from '../dnssec/validator.ts';
import { type CheckResult, type Finding, resultOf } from '../findings.ts';
import { clip, normalizeDnsName } from '../shared/dns-name.ts';
import { daneFindings as F } from './dane-findings.ts';
import { analyseTlsaRecord, type TlsaProblem } from './tlsa.ts';

export const MAX_DANE_MX_HOSTS = 32;

export interface DaneCheckOptions {
  /** MX hosts to check; default: the exchanges of the domain's MX RRset. */
  mxHosts?: readonly string[];
  trustAnchors?: readonly TrustAnchor[];
  now?: () => Date;
  validator?: DnssecValidator;
}

export interface DaneHostFacts {
  host: string;
  tlsaName: string;
  /** `none`: no TLSA (proven absent); otherwise the DNSSEC verdict of the TLSA RRset. */
  status: 'none' | Verdict;
  records: {
    usage: number;
    selector: number;
    matchingType: number;
    data: string;
    usable: boolean;
    problems: TlsaProblem[];
  }[];
  usableRecords: number;
  /** RFC 7671 §8.1: more than one usable record, so one can cover the next key. */
  rolloverReady: boolean;
}

export interface DaneFacts {
  domain: string;
  mxVerdict: Verdict;
  hosts: DaneHostFacts[];
}

export function tlsaNameFor(host: string): string {
  return `_25._tcp.${host}`;
}

export async function checkDane(
  resolver: Resolver,
  domain: string,
  options: DaneCheckOptions = {},
): Promise<CheckResult<DaneFacts>> {
  const name = normalizeDnsName(domain);
  if (name === null) throw new RangeError(`checkDane: not a domain name: ${clip(domain, 80)}`);
  const validator =
    options.validator ??
    createDnssecValidator(resolver, {
      ...(options.now ? { now: options.now } : {}),
      ...(options.trustAnchors ? { trustAnchors: options.trustAnchors } : {}),
    });
  const findings: Finding[] = [];
  let unknown = false;
  const mx = await validator.query(name, 'MX');
  const mxVerdict = mx.verdict.verdict;
  if (mxVerdict === 'indeterminate') unknown = true;
  const fromMx = mx.result.status === 'answer' ? mx.result.records.map((r) => r.exchange) : [];
  const hosts = [
    ...new Set(
      (options.mxHosts ?? fromMx)
        .map((h) => normalizeDnsName(h))
        .filter((h): h is string => h !== null && h !== ''),
    ),
  ].slice(0, MAX_DANE_MX_HOSTS);

  const facts = await Promise.all(
    hosts.map(async (host): Promise<DaneHostFacts> => {
      const tlsaName = tlsaNameFor(host);
      const { result, verdict } = await validator.query(tlsaName, 'TLSA');
      const base = { host, tlsaName, records: [], usableRecords: 0, rolloverReady: false };
      if (result.status === 'unknown' || verdict.verdict === 'indeterminate') {
        unknown = true;
        findings.push(
          F.lookup_unknown.make(host, `TLSA lookup for ${tlsaName} did not answer.`, {
            name: tlsaName,
            detail: verdict.detail ?? null,
          }),
        );
        return { ...base, status: 'indeterminate' };
      }
      if (verdict.verdict === 'bogus') {
        findings.push(
          F.tlsa_bogus.make(
            host,
            `The TLSA lookup for ${tlsaName} is bogus: ${verdict.reason ?? ''}${verdict.detail ? ` (${verdict.detail})` : ''}.`,
            {
              name: tlsaName,
              reason: verdict.reason ?? null,
              detail: verdict.detail ?? null,
            },
          ),
        );
        return { ...base, status: 'bogus' };
      }
      if (result.status !== 'answer') return { ...base, status: 'none' };
      const analysed = (result.records as TlsaData[]).map(analyseTlsaRecord);
      const records = analysed.map((a) => ({ ...a.record, usable: a.usable, problems: a.problems }));
      const usableRecords = analysed.filter((a) => a.usable).length;
      const rolloverReady =
        new Set(
          analysed
            .filter((a) => a.usable)
            .map((a) => `${a.record.selector}/${a.record.matchingType}/${a.record.data}`),
        ).size > 1;
      const hostFacts: DaneHostFacts = {
        ...base,
        status: verdict.verdict,
        records,
        usableRecords,
        rolloverReady,
      };
      if (verdict.verdict === 'insecure') {
        findings.push(
          F.tlsa_insecure.make(
            host,
            `${tlsaName} has TLSA records, but its zone is not DNSSEC-signed, so senders ignore them.`,
            { name: tlsaName, zone: verdict.chain?.zone ?? null },
          ),
        );
        return hostFacts;
      }
      // Secure from here on (RFC 7672 §2.2).
      if (mxVerdict !== 'secure' && mxVerdict !== 'indeterminate') {
        findings.push(
          F.mx_insecure.make(
            host,
            `TLSA at ${tlsaName} is secure, but the MX RRset of ${name} is ${mxVerdict}, so senders will not use DANE.`,
            { domain: name, mxVerdict },
          ),
        );
      }
      for (const a of analysed) {
        const shown = `${a.record.usage} ${a.record.selector} ${a.record.matchingType} ${clip(a.record.data, 24)}`;
        if (a.problems.includes('pkix_usage')) {
          findings.push(
            F.pkix_usage.make(
              host,
              `TLSA "${shown}" at ${tlsaName} uses PKIX usage ${a.record.usage}, which SMTP clients ignore.`,
              { name: tlsaName, record: a.record },
            ),
          );
        }
        const malformed = a.problems.filter((p) => p !== 'pkix_usage');
        if (malformed.length > 0) {
          findings.push(
            F.malformed_tlsa.make(
              host,
              `TLSA "${shown}" at ${tlsaName} is malformed: ${malformed.join(', ')}.`,
              { name: tlsaName, record: a.record, problems: malformed },
            ),
          );
        }
      }
      if (usableRecords === 0) {
        findings.push(
          F.no_usable_records.make(
            host,
            `None of the ${analysed.length} TLSA records at ${tlsaName} is usable for SMTP.`,
            { name: tlsaName },
          ),
        );
      } else if (!rolloverReady) {
        findings.push(
          F.no_rollover_record.make(
            host,
            `${tlsaName} has a single usable TLSA record; none is ready for the next key.`,
            { name: tlsaName },
          ),
        );
      }
      return hostFacts;
    }),
  );
  return resultOf('dane', { domain: name, mxVerdict, hosts: facts }, findings, unknown);
}
