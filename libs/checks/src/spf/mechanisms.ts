/**
 * The state of one check_host() run and the mechanisms that look up addresses (RFC 7208 §5.3,
 * §5.4, §5.5, §5.7), with the per-term limits of §4.6.4 and the %{p} procedure of §7.2.
 */
import type { DnsResult, RecordType, Resolver } from '@mailwarden/core';
import { cidrContains, IPV4_BITS, IPV6_BITS, type IpAddress, parseIp, reverseName } from '@mailwarden/core';
import { canonicalDomain, domainNameProblem, isWithinDomain, stripTrailingDot } from './domain-name.ts';
import { expandDomainSpec, type MacroValues, macroLetters } from './macro.ts';
import type { DomainSpec, Mechanism } from './parse.ts';
import { MAX_MX_OR_PTR_NAMES, MAX_VOID_LOOKUPS } from './record.ts';

export type SpfResult = 'none' | 'neutral' | 'pass' | 'fail' | 'softfail' | 'temperror' | 'permerror';

export interface Outcome {
  result: SpfResult;
  explanation?: string;
  mechanism?: string;
  mechanismDomain?: string;
  problem?: string;
}

export interface Session {
  resolver: Resolver;
  ip: IpAddress;
  base: Omit<MacroValues, 'd' | 'p'>;
  lookups: number;
  voidLookups: number;
  /** Domains on the current include / redirect chain, to cut loops. */
  chain: string[];
  queries: Map<string, Promise<DnsResult<RecordType>>>;
  validatedNames?: Promise<string[]>;
}

/** A mechanism either matches, does not, or ends check_host() with an error outcome. */
export type MatchResult = boolean | Outcome;

export function permerror(problem: string): Outcome {
  return { result: 'permerror', problem };
}

export function temperror(result: DnsResult<RecordType>): Outcome {
  const reason = result.status === 'unknown' ? result.reason : result.status;
  return { result: 'temperror', problem: `DNS ${reason} for ${result.type} ${result.name}` };
}

/** One query per name and type per evaluation: repeated terms reuse the answer. */
export function query<T extends RecordType>(session: Session, name: string, type: T): Promise<DnsResult<T>> {
  const key = `${type} ${canonicalDomain(name)}`;
  let pending = session.queries.get(key);
  if (!pending) {
    pending = session.resolver.query(name, type);
    session.queries.set(key, pending);
  }
  return pending as Promise<DnsResult<T>>;
}

/**
 * The validated names of the client IP for %{p} (RFC 7208 §7.2 with the §5.5 procedure): the
 * first 10 PTR names whose address records include the IP. DNS errors just drop names.
 */
function validatedNames(session: Session): Promise<string[]> {
  session.validatedNames ??= (async () => {
    const ptr = await query(session, reverseName(session.ip), 'PTR');
    if (ptr.status !== 'answer') return [];
    const names: string[] = [];
    for (const name of ptr.records.slice(0, MAX_MX_OR_PTR_NAMES)) {
      if (domainNameProblem(name)) continue;
      if ((await addressesOf(session, name)) === true) names.push(stripTrailingDot(name));
    }
    return names;
  })();
  return session.validatedNames;
}

export async function macroValues(
  session: Session,
  domain: string,
  letters: Set<string>,
): Promise<MacroValues> {
  let p = 'unknown';
  if (letters.has('p')) {
    // RFC 7208 §7.2: prefer <domain> itself, then a subdomain of it, then any validated name.
    const names = await validatedNames(session);
    p =
      names.find((name) => canonicalDomain(name) === canonicalDomain(domain)) ??
      names.find((name) => isWithinDomain(name, domain)) ??
      names[0] ??
      'unknown';
  }
  return { ...session.base, d: domain, p };
}

/** The <target-name> of a term: the expanded domain-spec, or the current domain. */
export async function targetName(
  session: Session,
  spec: DomainSpec | undefined,
  domain: string,
): Promise<string> {
  if (!spec) return stripTrailingDot(domain);
  return expandDomainSpec(spec.tokens, await macroValues(session, domain, macroLetters(spec.tokens)));
}

export function noteVoid(session: Session): Outcome | false {
  session.voidLookups++;
  if (session.voidLookups > MAX_VOID_LOOKUPS) {
    return permerror(`more than ${MAX_VOID_LOOKUPS} void lookups (RFC 7208 §4.6.4)`);
  }
  return false;
}

/**
 * Looks up `name`'s address records of the client's family (RFC 7208 §5: A for IPv4, AAAA for
 * IPv6): true when one is within the CIDR of the client, 'void' when there are none, or the
 * failed DNS result.
 */
async function addressesOf(
  session: Session,
  name: string,
  ip4Prefix = IPV4_BITS,
  ip6Prefix = IPV6_BITS,
): Promise<boolean | 'void' | DnsResult<RecordType>> {
  const type = session.ip.family === 4 ? 'A' : 'AAAA';
  const answer = await query(session, name, type);
  if (answer.status === 'unknown') return answer;
  if (answer.status !== 'answer' || answer.records.length === 0) return 'void';
  const prefix = session.ip.family === 4 ? ip4Prefix : ip6Prefix;
  for (const text of answer.records) {
    const address = parseIp(text);
    if (address && cidrContains(address, prefix, session.ip)) return true;
  }
  return false;
}

export async function matchA(session: Session, mechanism: Mechanism, target: string): Promise<MatchResult> {
  const matches = await addressesOf(session, target, mechanism.ip4Prefix, mechanism.ip6Prefix);
  if (typeof matches === 'object') return temperror(matches);
  if (matches === 'void') return noteVoid(session);
  return matches;
}

/** RFC 7208 §5.4; §4.6.4: no more than 10 MX names may be looked at, else "permerror". */
export async function matchMx(session: Session, mechanism: Mechanism, target: string): Promise<MatchResult> {
  const answer = await query(session, target, 'MX');
  if (answer.status === 'unknown') return temperror(answer);
  if (answer.status !== 'answer' || answer.records.length === 0) return noteVoid(session);
  const exchanges = [...answer.records].sort((left, right) => left.preference - right.preference);
  for (const [index, mx] of exchanges.entries()) {
    if (index >= MAX_MX_OR_PTR_NAMES) {
      return permerror(`"${mechanism.text}" has more than ${MAX_MX_OR_PTR_NAMES} MX names (RFC 7208 §4.6.4)`);
    }
    // A null MX (RFC 7505: exchange ".") or an unusable name has no addresses to compare.
    if (domainNameProblem(mx.exchange)) continue;
    const matches = await addressesOf(session, mx.exchange, mechanism.ip4Prefix, mechanism.ip6Prefix);
    if (typeof matches === 'object') return temperror(matches);
    if (matches === true) return true;
  }
  return false;
}

/**
 * RFC 7208 §5.5: only the first 10 PTR names count (§4.6.4); a DNS error on the PTR lookup is
 * "no match", and one on an address lookup skips that name. Only names at or below the target
 * can match, so only they are validated.
 */
export async function matchPtr(session: Session, target: string): Promise<MatchResult> {
  const ptr = await query(session, reverseName(session.ip), 'PTR');
  if (ptr.status === 'unknown') return false;
  if (ptr.status !== 'answer' || ptr.records.length === 0) return noteVoid(session);
  for (const name of ptr.records.slice(0, MAX_MX_OR_PTR_NAMES)) {
    if (domainNameProblem(name) || !isWithinDomain(name, target)) continue;
    if ((await addressesOf(session, name)) === true) return true;
  }
  return false;
}

/** RFC 7208 §5.7: an A lookup, even for an IPv6 client. */
export async function matchExists(session: Session, target: string): Promise<MatchResult> {
  const answer = await query(session, target, 'A');
  if (answer.status === 'unknown') return temperror(answer);
  if (answer.status !== 'answer' || answer.records.length === 0) return noteVoid(session);
  return true;
}
