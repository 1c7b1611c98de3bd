/**
 * Our `Resolver` in the shape mailauth asks for: `dns.promises.resolve(name, type)`, resolving to
 * Node's record shapes and rejecting with Node's error codes (ENOTFOUND for NXDOMAIN, ENODATA for
 * NODATA, which mailauth counts as SPF void lookups, RFC 7208 §4.6.4; ETIMEOUT, ESERVFAIL,
 * EREFUSED for failures, which it turns into temperror). Every mailauth function gets this, so no
 * lookup of the message check ever reaches the system resolver.
 *
 * A budget caps the questions one message may cause: a message can carry any number of
 * DKIM-Signature and ARC header fields, each a key lookup.
 */
import type { DnsResult, RecordType, Resolver } from '@mailwarden/core';

/** Enough for SPF's 10 lookups with their A/AAAA/MX follow-ups, a few signatures, ARC and DMARC. */
export const DEFAULT_MESSAGE_DNS_BUDGET = 100;

const SUPPORTED: ReadonlySet<string> = new Set<RecordType>(['A', 'AAAA', 'TXT', 'MX', 'NS', 'PTR', 'CNAME']);

const UNKNOWN_CODES: Record<string, string> = {
  timeout: 'ETIMEOUT',
  servfail: 'ESERVFAIL',
  refused: 'EREFUSED',
  formerr: 'EFORMERR',
  notimp: 'ENOTIMP',
  malformed: 'EBADRESP',
  truncated: 'EBADRESP',
  too_large: 'EBADRESP',
  cname_loop: 'ESERVFAIL',
  network: 'ECONNREFUSED',
};

export type MailauthResolver = (name: string, type: string) => Promise<unknown[]>;

function dnsError(code: string, name: string, type: string, detail?: string): Error {
  const err = new Error(`${type} ${name}: ${code}${detail ? ` (${detail})` : ''}`) as Error & {
    code: string;
    hostname: string;
  };
  err.code = code;
  err.hostname = name;
  return err;
}

function nodeShape(result: Extract<DnsResult<RecordType>, { status: 'answer' }>): unknown[] {
  switch (result.type) {
    case 'MX':
      return (result.records as { preference: number; exchange: string }[]).map((r) => ({
        priority: r.preference,
        exchange: r.exchange,
      }));
    case 'TXT':
      return (result.records as string[][]).map((strings) => [...strings]);
    default:
      return [...(result.records as string[])];
  }
}

export interface MailauthResolverHandle {
  resolve: MailauthResolver;
  /** Questions asked so far. */
  readonly queries: number;
  /** True once a question was refused for the budget. */
  readonly exhausted: boolean;
}

export function mailauthResolver(
  resolver: Resolver,
  budget = DEFAULT_MESSAGE_DNS_BUDGET,
): MailauthResolverHandle {
  let queries = 0;
  let exhausted = false;
  const resolve: MailauthResolver = async (name, rawType) => {
    const type = String(rawType).toUpperCase();
    if (!SUPPORTED.has(type)) throw dnsError('ENOTIMP', name, type);
    if (queries >= budget) {
      exhausted = true;
      throw dnsError('ETIMEOUT', name, type, `DNS budget of ${budget} questions for one message spent`);
    }
    queries++;
    const result = await resolver.query(name, type as RecordType);
    if (result.status === 'answer') return nodeShape(result);
    if (result.status === 'unknown')
      throw dnsError(UNKNOWN_CODES[result.reason] ?? 'ESERVFAIL', name, type, result.detail);
    throw dnsError(result.status === 'nxdomain' ? 'ENOTFOUND' : 'ENODATA', name, type);
  };
  return {
    resolve,
    get queries() {
      return queries;
    },
    get exhausted() {
      return exhausted;
    },
  };
}
