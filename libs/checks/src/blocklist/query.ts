/**
 * What to ask a blocklist and how to read its answer (RFC 5782).
 *
 * Query names: an IPv4 address is looked up with its octets reversed under the zone (§2.1,
 * 192.0.2.99 -> 99.2.0.192.zone), an IPv6 address as its 32 nibbles reversed (§2.4, as in
 * ip6.arpa), a domain as itself prefixed to the zone (§3).
 *
 * Answers: an A record means listed and NXDOMAIN means not listed (§2.1, §2.3). Which A values a
 * list uses, and which it uses to say "I will not answer you", is the list's own business; its
 * code map (lists.ts) says so. Everything we cannot place is `unknown`: answers outside
 * 127.0.0.0/8 (a hijacking resolver, RFC 5782 §2.1 requires 127/8), 127.255.255.0/24 (Spamhaus's
 * and others' error codes), the codes a map marks as errors (URIBL's 127.0.0.1), and codes a map
 * does not document. DESIGN.md §3: none of these is ever "listed".
 */
import { type DnsResult, ipv6Nibbles, parseIp, unmapIPv4 } from '@mailwarden/core';
import { normalizeDnsName } from '../shared/dns-name.ts';
import { type BlocklistZone, ipv4Number, isErrorRange, isLoopback8, type ReturnCode } from './lists.ts';

/** RFC 5782 §2.1: a list without a code map lists with 127.0.0.2 and up; 127.0.0.1 is never a listing. */
const DEFAULT_FIRST = ipv4Number('127.0.0.2') as number;
const DEFAULT_LAST = ipv4Number('127.0.0.254') as number;

/** The query name for an address under an IP list, or undefined for text that is not an address. */
export function ipQueryName(address: string, zone: string): string | undefined {
  const parsed = parseIp(address.replace(/^\[|\]$/g, ''));
  if (!parsed) return undefined;
  // An IPv4-mapped IPv6 address is the IPv4 host; IPv4 lists know it by its IPv4 name.
  const ip = unmapIPv4(parsed);
  if (ip.family === 4) return `${Array.from(ip.bytes).reverse().join('.')}.${zone}`;
  return `${ipv6Nibbles(ip.bytes).reverse().join('.')}.${zone}`;
}

/** The query name for a domain under a domain list, or undefined when the result is no DNS name. */
export function domainQueryName(domain: string, zone: string): string | undefined {
  return normalizeDnsName(`${domain}.${zone}`) ?? undefined;
}

export interface CodeOutcome {
  /** The A record as received. */
  answer: string;
  kind: 'listed' | 'error' | 'undocumented';
  meaning: string;
}

export type ListAnswer =
  | { state: 'listed'; codes: CodeOutcome[] }
  | { state: 'not_listed'; detail: 'nxdomain' | 'nodata' }
  /** No verdict: DNS failed, the list refused us, or it answered something we cannot place. */
  | {
      state: 'unknown';
      reason: 'dns' | 'error_code' | 'undocumented_code';
      codes: CodeOutcome[];
      detail: string;
    };

function matches(code: ReturnCode, value: number): boolean {
  const m = code.match;
  if (m.kind === 'range') return value >= m.first && value <= m.last;
  return (value & 0xffffff00) >>> 0 === m.prefix && (value & m.bits) === m.bits;
}

/** How one A value of a list's answer reads under its code map. */
export function classifyCode(list: BlocklistZone, answer: string): CodeOutcome {
  const value = ipv4Number(answer);
  if (value === undefined || !isLoopback8(value))
    return { answer, kind: 'error', meaning: 'answer outside 127.0.0.0/8 (not a blocklist answer)' };
  // Error entries win over listing entries: a bit test like &127.0.0.2 also matches 127.0.0.255.
  const error = list.codes.find((c) => c.error && matches(c, value));
  if (error) return { answer, kind: 'error', meaning: error.meaning };
  if (isErrorRange(value))
    return { answer, kind: 'error', meaning: 'error code of the list (127.255.255.0/24)' };
  if (list.codes.length === 0) {
    return value >= DEFAULT_FIRST && value <= DEFAULT_LAST
      ? { answer, kind: 'listed', meaning: 'listed' }
      : { answer, kind: 'undocumented', meaning: 'outside 127.0.0.2-127.0.0.254 (RFC 5782 §2.1)' };
  }
  const hits = list.codes.filter((c) => !c.error && matches(c, value));
  if (hits.length === 0)
    return { answer, kind: 'undocumented', meaning: 'code not documented for this list' };
  return { answer, kind: 'listed', meaning: hits.map((c) => c.meaning).join('; ') };
}

/**
 * Reads the A answer of one query. Any error code makes the whole answer unknown (it is a refusal,
 * not data); documented listing codes beside undocumented ones still list.
 */
export function interpretAnswer(list: BlocklistZone, result: DnsResult<'A'>): ListAnswer {
  if (result.status === 'unknown')
    return {
      state: 'unknown',
      reason: 'dns',
      codes: [],
      detail: result.detail ? `${result.reason}: ${result.detail}` : result.reason,
    };
  if (result.status !== 'answer') return { state: 'not_listed', detail: result.status };
  const codes = [...new Set(result.records)].sort().map((a) => classifyCode(list, a));
  const errors = codes.filter((c) => c.kind === 'error');
  if (errors.length > 0)
    return {
      state: 'unknown',
      reason: 'error_code',
      codes,
      detail: errors.map((c) => `${c.answer} (${c.meaning})`).join(', '),
    };
  if (codes.some((c) => c.kind === 'listed')) return { state: 'listed', codes };
  return {
    state: 'unknown',
    reason: 'undocumented_code',
    codes,
    detail: codes.map((c) => c.answer).join(', '),
  };
}
