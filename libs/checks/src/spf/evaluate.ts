/**
 * check_host() (RFC 7208 §4, §5, §6): the SPF verdict for one client IP, MAIL FROM and HELO.
 *
 * All DNS goes through the injected `Resolver`. A DNS failure to know (`unknown`) is a
 * "temperror", never a "fail" (RFC 7208 §2.6.6, DESIGN.md §3). Every path is bounded: at most 10
 * DNS-querying terms (§4.6.4) across include and redirect, at most 10 names per mx / ptr term,
 * and loops are cut as soon as a domain re-enters its own chain.
 */
import type { Resolver } from '@mailwarden/core';
import { cidrContains, formatIp, type IpAddress, ipv6Nibbles, parseIp, unmapIPv4 } from '@mailwarden/core';
import { canonicalDomain, domainNameProblem } from './domain-name.ts';
import { expandDomainSpec, expandMacros, macroLetters, parseMacroString } from './macro.ts';
import {
  type MatchResult,
  macroValues,
  matchA,
  matchExists,
  matchMx,
  matchPtr,
  noteVoid,
  type Outcome,
  permerror,
  query,
  type Session,
  type SpfResult,
  targetName,
  temperror,
} from './mechanisms.ts';
import { type DomainSpec, type Mechanism, type ParsedSpf, parseSpfRecord, type Qualifier } from './parse.ts';
import { checkHostDomainProblem, joinTxt, MAX_DNS_MECHANISMS, selectSpfRecord } from './record.ts';

export type { SpfResult } from './mechanisms.ts';

export interface SpfEvaluationInput {
  /** The SMTP client's address. An IPv4-mapped IPv6 address is treated as IPv4 (RFC 7208 §5). */
  ip: string;
  /** MAIL FROM; empty for the null reverse-path, in which case HELO is checked (RFC 7208 §2.4). */
  mailFrom: string;
  helo: string;
  /** The domain to check; default: the domain of MAIL FROM, or HELO when MAIL FROM is empty. */
  domain?: string;
  /** %{r}: the receiving host's domain (RFC 7208 §7.2). Default "unknown". */
  receiver?: string;
  /** %{t}: the time of the check (RFC 7208 §7.2). Default: now. */
  now?: Date;
}

export interface SpfEvaluation {
  result: SpfResult;
  /** The domain check_host() started with. */
  domain: string;
  /** The expanded exp= text (RFC 7208 §6.2), only for "fail". */
  explanation?: string;
  /** The term that decided the result, as written, e.g. "-all" or "include:_spf.example.net". */
  mechanism?: string;
  /** The domain whose record held `mechanism` (an include or redirect target, or the start). */
  mechanismDomain?: string;
  /** Why the result is "none", "temperror", "permerror", or the default "neutral". */
  problem?: string;
  /** DNS-querying terms reached (RFC 7208 §4.6.4), including one that went over the limit. */
  lookups: number;
  voidLookups: number;
}

const RESULT_OF: Record<Qualifier, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

/** RFC 7208 §5.2: pass matches; fail, softfail, neutral do not; temperror and permerror propagate; none is permerror. */
async function matchInclude(session: Session, target: string): Promise<MatchResult> {
  const inner = await nestedCheckHost(session, target, 'include', false);
  switch (inner.result) {
    case 'pass':
      return true;
    case 'fail':
    case 'softfail':
    case 'neutral':
      return false;
    case 'none':
      return permerror(
        `include target ${target} has no SPF record (RFC 7208 §5.2)${inner.problem ? `: ${inner.problem}` : ''}`,
      );
    default:
      return inner;
  }
}

async function matchMechanism(session: Session, mechanism: Mechanism, domain: string): Promise<MatchResult> {
  switch (mechanism.name) {
    case 'all':
      return true;
    case 'ip4':
    case 'ip6': {
      const network = mechanism.network as IpAddress;
      const prefix = (network.family === 4 ? mechanism.ip4Prefix : mechanism.ip6Prefix) as number;
      return cidrContains(network, prefix, session.ip);
    }
    default:
      break;
  }
  // RFC 7208 §4.6.4: at most 10 terms that cause DNS queries, across include and redirect.
  session.lookups++;
  if (session.lookups > MAX_DNS_MECHANISMS) {
    return permerror(
      `more than ${MAX_DNS_MECHANISMS} DNS-querying terms, at "${mechanism.text}" (RFC 7208 §4.6.4)`,
    );
  }
  const target = await targetName(session, mechanism.domainSpec, domain);
  if (mechanism.name === 'include') return matchInclude(session, target);
  // A target that cannot be a DNS name cannot exist: no match, like NXDOMAIN (RFC 7208 §4.3 by analogy).
  if (domainNameProblem(target)) return noteVoid(session);
  switch (mechanism.name) {
    case 'a':
      return matchA(session, mechanism, target);
    case 'mx':
      return matchMx(session, mechanism, target);
    case 'ptr':
      return matchPtr(session, target);
    default:
      return matchExists(session, target);
  }
}

/**
 * RFC 7208 §6.2: the explanation for "fail". Any DNS problem, no record, several records or a
 * syntax error in the text means no explanation. exp lookups count against no limit.
 */
async function explanationFor(
  session: Session,
  spec: DomainSpec,
  domain: string,
): Promise<string | undefined> {
  const name = expandDomainSpec(spec.tokens, await macroValues(session, domain, macroLetters(spec.tokens)));
  if (domainNameProblem(name)) return undefined;
  const answer = await query(session, name, 'TXT');
  if (answer.status !== 'answer' || answer.records.length !== 1) return undefined;
  const parsed = parseMacroString(joinTxt(answer.records[0] as string[]), 'explanation');
  if (parsed.error) return undefined;
  return expandMacros(parsed.tokens, await macroValues(session, domain, macroLetters(parsed.tokens)));
}

async function fetchRecord(session: Session, domain: string): Promise<ParsedSpf | Outcome> {
  const problem = checkHostDomainProblem(domain);
  if (problem) return { result: 'none', problem };
  const answer = await query(session, domain, 'TXT');
  if (answer.status === 'unknown') return temperror(answer);
  if (answer.status !== 'answer') return { result: 'none', problem: `${answer.status} for TXT ${domain}` };
  const selection = selectSpfRecord(answer.records);
  if (selection.kind === 'none') return { result: 'none', problem: `no SPF record at ${domain}` };
  if (selection.kind === 'multiple')
    return permerror(`${selection.texts.length} SPF records at ${domain} (RFC 7208 §4.5)`);
  return parseSpfRecord(selection.text);
}

async function checkHost(session: Session, domain: string, wantExplanation: boolean): Promise<Outcome> {
  const record = await fetchRecord(session, domain);
  if ('result' in record) return record;
  const firstError = record.errors[0];
  if (firstError) {
    return permerror(
      `syntax error at ${domain} offset ${firstError.position} in "${firstError.term}": ${firstError.message}`,
    );
  }
  for (const mechanism of record.mechanisms) {
    const matched = await matchMechanism(session, mechanism, domain);
    if (typeof matched === 'object') return matched;
    if (!matched) continue;
    const outcome: Outcome = {
      result: RESULT_OF[mechanism.qualifier],
      mechanism: mechanism.text,
      mechanismDomain: domain,
    };
    if (outcome.result === 'fail' && wantExplanation && record.exp?.domainSpec) {
      const explanation = await explanationFor(session, record.exp.domainSpec, domain);
      if (explanation !== undefined) outcome.explanation = explanation;
    }
    return outcome;
  }
  // RFC 7208 §6.1: redirect applies only when no mechanism matched (an "all" always matches).
  if (record.redirect?.domainSpec) {
    session.lookups++;
    if (session.lookups > MAX_DNS_MECHANISMS) {
      return permerror(
        `more than ${MAX_DNS_MECHANISMS} DNS-querying terms, at "${record.redirect.text}" (RFC 7208 §4.6.4)`,
      );
    }
    const target = await targetName(session, record.redirect.domainSpec, domain);
    const inner = await nestedCheckHost(session, target, 'redirect', wantExplanation);
    // RFC 7208 §6.1: a redirect target without an SPF record is "permerror", not "none".
    if (inner.result === 'none')
      return permerror(`redirect target ${target} has no SPF record (RFC 7208 §6.1)`);
    return inner;
  }
  return { result: 'neutral', problem: 'no mechanism matched and there is no redirect (RFC 7208 §4.7)' };
}

async function nestedCheckHost(
  session: Session,
  target: string,
  via: 'include' | 'redirect',
  wantExplanation: boolean,
): Promise<Outcome> {
  const key = canonicalDomain(target);
  if (session.chain.includes(key)) {
    return permerror(`${via} loop: ${[...session.chain, key].join(' -> ')} (RFC 7208 §4.6.4)`);
  }
  session.chain.push(key);
  try {
    return await checkHost(session, target, wantExplanation);
  } finally {
    session.chain.pop();
  }
}

function senderParts(input: SpfEvaluationInput): { sender: string; local: string; senderDomain: string } {
  // RFC 7208 §4.3: no local-part means "postmaster"; the null reverse-path uses HELO (§2.4).
  if (input.mailFrom === '')
    return { sender: `postmaster@${input.helo}`, local: 'postmaster', senderDomain: input.helo };
  const at = input.mailFrom.lastIndexOf('@');
  if (at < 0)
    return { sender: `postmaster@${input.mailFrom}`, local: 'postmaster', senderDomain: input.mailFrom };
  const local = input.mailFrom.slice(0, at) || 'postmaster';
  const senderDomain = input.mailFrom.slice(at + 1);
  return { sender: `${local}@${senderDomain}`, local, senderDomain };
}

export async function evaluate(input: SpfEvaluationInput, resolver: Resolver): Promise<SpfEvaluation> {
  const parsedIp = parseIp(input.ip);
  if (!parsedIp) throw new TypeError(`evaluate: "${input.ip}" is not an IP address`);
  // RFC 7208 §5: an IPv4-mapped IPv6 address MUST still be considered an IPv4 address.
  const ip = unmapIPv4(parsedIp);
  const { sender, local, senderDomain } = senderParts(input);
  const domain = input.domain ?? senderDomain;
  const session: Session = {
    resolver,
    ip,
    base: {
      s: sender,
      l: local,
      o: senderDomain,
      i: ip.family === 4 ? formatIp(ip) : ipv6Nibbles(ip.bytes).join('.'),
      v: ip.family === 4 ? 'in-addr' : 'ip6',
      h: input.helo,
      c: formatIp(ip),
      r: input.receiver ?? 'unknown',
      t: String(Math.floor((input.now ?? new Date()).getTime() / 1000)),
    },
    lookups: 0,
    voidLookups: 0,
    chain: [canonicalDomain(domain)],
    queries: new Map(),
  };
  const outcome = await checkHost(session, domain, true);
  return { ...outcome, domain, lookups: session.lookups, voidLookups: session.voidLookups };
}
