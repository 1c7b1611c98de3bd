/**
 * Verifying external report destinations (RFC 7489 §7.1; RFC 9990 keeps the procedure). When a
 * rua/ruf URI points to a host outside the policy's Organizational Domain, receivers send reports
 * there only if the destination publishes `<policy-domain>._report._dmarc.<destination-host>` TXT
 * with a record starting `v=DMARC1`. Without it, the reports are silently not sent.
 */
import type { Resolver } from '@mailwarden/core';
import { joinTxt, normalizeDnsName } from '../shared/dns-name.ts';
import { organizationalDomain } from './org-domain.ts';
import { isDmarcRecord } from './record.ts';
import { type ReportUri, SUPPORTED_REPORT_SCHEMES } from './report-uri.ts';

/**
 * Hostile records can list thousands of URIs; we verify this many distinct external hosts and mark
 * the rest `not_checked`. RFC 7489 §6.2 only obliges receivers to use two URIs per tag anyway.
 */
export const MAX_DESTINATIONS_VERIFIED = 10;
/** Our bound on the URIs of one tag that are classified at all; the rest are left out of the facts. */
export const MAX_REPORT_URIS_PER_TAG = 50;

export type DestinationAuthorization =
  /** Inside the policy's Organizational Domain: no authorisation needed. */
  | 'internal'
  | 'authorized'
  | 'unauthorized'
  /** The authorisation lookup could not be answered. */
  | 'unknown'
  /** Beyond MAX_DESTINATIONS_VERIFIED, or a scheme receivers do not send to. */
  | 'not_checked';

export interface ReportDestination {
  tag: 'rua' | 'ruf';
  uri: string;
  host: string | null;
  authorization: DestinationAuthorization;
  /** The TXT name asked, when one was. */
  verificationName?: string;
  reason?: string;
}

async function verifyHost(
  policyDomain: string,
  host: string,
  resolver: Resolver,
): Promise<Pick<ReportDestination, 'authorization' | 'verificationName' | 'reason'>> {
  // §7.1 steps 1-3: the policy domain, "_report._dmarc", then the destination host.
  const name = normalizeDnsName(`${policyDomain}._report._dmarc.${host}`);
  if (name === null) {
    return { authorization: 'unauthorized', reason: 'the verification name would exceed DNS name limits' };
  }
  const result = await resolver.query(name, 'TXT');
  if (result.status === 'unknown') {
    return { authorization: 'unknown', verificationName: name, reason: result.reason };
  }
  // §7.1 steps 5-7: at least one record starting with v=DMARC1 authorises the destination.
  const authorized = result.status === 'answer' && result.records.map(joinTxt).some(isDmarcRecord);
  return {
    authorization: authorized ? 'authorized' : 'unauthorized',
    verificationName: name,
    reason: authorized ? undefined : `no v=DMARC1 record at ${name} (${result.status})`,
  };
}

/** Classifies every rua/ruf URI of the record found at `policyDomain`. */
export async function verifyReportDestinations(
  policyDomain: string,
  uris: { rua: ReportUri[]; ruf: ReportUri[] },
  resolver: Resolver,
): Promise<ReportDestination[]> {
  const policyOrg = organizationalDomain(policyDomain);
  const byHost = new Map<
    string,
    Promise<Pick<ReportDestination, 'authorization' | 'verificationName' | 'reason'>>
  >();
  const destinations: Array<Promise<ReportDestination>> = [];
  for (const tag of ['rua', 'ruf'] as const) {
    for (const uri of uris[tag].slice(0, MAX_REPORT_URIS_PER_TAG)) {
      const base = { tag, uri: uri.uri, host: uri.host };
      if (!SUPPORTED_REPORT_SCHEMES.has(uri.scheme) || uri.host === null) {
        destinations.push(
          Promise.resolve({ ...base, authorization: 'not_checked', reason: 'unsupported scheme' }),
        );
        continue;
      }
      const host = uri.host;
      if (organizationalDomain(host) === policyOrg) {
        destinations.push(Promise.resolve({ ...base, authorization: 'internal' }));
        continue;
      }
      let verification = byHost.get(host);
      if (!verification) {
        if (byHost.size >= MAX_DESTINATIONS_VERIFIED) {
          destinations.push(
            Promise.resolve({
              ...base,
              authorization: 'not_checked',
              reason: 'too many external destinations',
            }),
          );
          continue;
        }
        verification = verifyHost(policyDomain, host, resolver);
        byHost.set(host, verification);
      }
      destinations.push(verification.then((v) => ({ ...base, ...v })));
    }
  }
  return Promise.all(destinations);
}
