/**
 * The SPF record parser (RFC 7208 §4.6, §5, §6, §7 and the ABNF of §12).
 *
 *   record    = version terms *SP
 *   terms     = *( 1*SP ( directive / modifier ) )
 *   directive = [ qualifier ] mechanism
 *   modifier  = redirect / explanation / unknown-modifier
 *
 * The whole record is parsed before anything is evaluated: RFC 7208 §4.6 says syntax errors
 * anywhere in the record make check_host() return "permerror", even after a match.
 */
import { IPV4_BITS, IPV6_BITS, type IpAddress, parseIPv4, parseIPv6 } from '@mailwarden/core';
import { type MacroToken, parseMacroString, usesMacros } from './macro.ts';
import { isSpfRecord } from './record.ts';

export type Qualifier = '+' | '-' | '~' | '?';
export type MechanismName = 'all' | 'include' | 'a' | 'mx' | 'ptr' | 'ip4' | 'ip6' | 'exists';

/** Mechanisms that cost one of the 10 DNS-querying terms (RFC 7208 §4.6.4); redirect= is the 6th. */
export const DNS_MECHANISMS: ReadonlySet<MechanismName> = new Set(['include', 'a', 'mx', 'ptr', 'exists']);

/** Errors beyond this many are counted, not kept: a hostile record cannot grow the evidence. */
const MAX_KEPT_ERRORS = 50;
/** The term quoted in an error is cut to this many characters. */
const MAX_QUOTED_TERM = 200;

export interface DomainSpec {
  text: string;
  tokens: MacroToken[];
  hasMacros: boolean;
}

export interface Mechanism {
  kind: 'mechanism';
  name: MechanismName;
  qualifier: Qualifier;
  /** Whether the qualifier was written out (a bare mechanism means "+"). */
  explicitQualifier: boolean;
  /** The term as written. */
  text: string;
  /** Offset of the term in the record. */
  position: number;
  /** include, exists (required); a, mx, ptr (optional, default: the current domain). */
  domainSpec?: DomainSpec;
  /** a, mx: dual-cidr-length (RFC 7208 §5.3, §5.4); ip4, ip6: the network's prefix length. */
  ip4Prefix?: number;
  ip6Prefix?: number;
  /** ip4, ip6. */
  network?: IpAddress;
}

export interface Modifier {
  kind: 'modifier';
  /** Lower case. */
  name: string;
  text: string;
  position: number;
  value: string;
  /** redirect, exp. */
  domainSpec?: DomainSpec;
}

export type Term = Mechanism | Modifier;

export interface SpfSyntaxError {
  message: string;
  /** Offset in the record text. */
  position: number;
  term: string;
}

export interface ParsedSpf {
  text: string;
  terms: Term[];
  mechanisms: Mechanism[];
  redirect?: Modifier;
  exp?: Modifier;
  errors: SpfSyntaxError[];
  /** All errors, including those not kept in `errors`. */
  errorCount: number;
}

/** RFC 7208 §7.1 toplabel, matched greedily so IDN TLDs such as "xn--zckzah" pass. */
const TOPLABEL = /^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])$/;
/** RFC 7208 §12 name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
const MODIFIER = /^([A-Za-z][A-Za-z0-9\-_.]*)=/;
const CIDR_DIGITS = /^(?:0|[1-9][0-9]*)$/;
const DUAL_CIDR_SUFFIX = /(?:\/([0-9]*))?(?:\/\/([0-9]*))?$/;
const DUAL_CIDR_ONLY = /^(?:\/([0-9]*))?(?:\/\/([0-9]*))?$/;

type Problem = { message: string; at: number };

class TermError extends Error {
  readonly at: number;
  constructor(message: string, at: number) {
    super(message);
    this.at = at;
  }
}

function fail(message: string, at = 0): never {
  throw new TermError(message, at);
}

/** domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand */
export function parseDomainSpec(text: string, offset = 0): DomainSpec | Problem {
  if (text === '') return { message: 'empty domain-spec', at: offset };
  const parsed = parseMacroString(text, 'domain', offset);
  if (parsed.error) return { message: parsed.error.message, at: parsed.error.position };
  const last = parsed.tokens.at(-1);
  if (last?.kind === 'literal') {
    const tail = last.text.endsWith('.') ? last.text.slice(0, -1) : last.text;
    const dot = tail.lastIndexOf('.');
    if (dot < 0)
      return { message: 'domain-spec must end in "." toplabel or a macro (RFC 7208 §7.1)', at: offset };
    if (!TOPLABEL.test(tail.slice(dot + 1))) {
      return {
        message: `invalid top label "${tail.slice(dot + 1)}" (RFC 7208 §7.1)`,
        at: last.position + dot + 1,
      };
    }
  }
  return { text, tokens: parsed.tokens, hasMacros: usesMacros(parsed.tokens) };
}

function domainSpecOrFail(text: string, at: number): DomainSpec {
  const spec = parseDomainSpec(text, at);
  if ('message' in spec) fail(spec.message, spec.at);
  return spec;
}

function cidrLength(digits: string | undefined, max: number, at: number): number | undefined {
  if (digits === undefined) return undefined;
  if (!CIDR_DIGITS.test(digits)) fail('invalid CIDR length', at);
  const length = Number(digits);
  if (length > max) fail(`CIDR length ${digits} is more than ${max}`, at);
  return length;
}

function parseDualCidr(mechanism: Mechanism, match: RegExpExecArray, at: number): void {
  const ip4 = cidrLength(match[1], IPV4_BITS, at);
  const ip6 = cidrLength(match[2], IPV6_BITS, at);
  if (ip4 !== undefined) mechanism.ip4Prefix = ip4;
  if (ip6 !== undefined) mechanism.ip6Prefix = ip6;
}

/** a / mx: [ ":" domain-spec ] [ dual-cidr-length ] (RFC 7208 §5.3, §5.4). */
function parseHostMechanism(mechanism: Mechanism, args: string, at: number): void {
  if (!args.startsWith(':')) {
    const only = DUAL_CIDR_ONLY.exec(args);
    if (!only) fail(`invalid argument "${args}" for ${mechanism.name}`, at);
    parseDualCidr(mechanism, only, at);
    return;
  }
  const body = args.slice(1);
  const suffix = DUAL_CIDR_SUFFIX.exec(body) as RegExpExecArray;
  parseDualCidr(mechanism, suffix, at + 1 + suffix.index);
  mechanism.domainSpec = domainSpecOrFail(body.slice(0, suffix.index), at + 1);
}

/** ip4 / ip6: ":" network [ "/" length ] (RFC 7208 §5.6). */
function parseNetwork(mechanism: Mechanism, args: string, at: number): void {
  if (!args.startsWith(':')) fail(`${mechanism.name} needs ":" and a network`, at);
  const body = args.slice(1);
  const slash = body.indexOf('/');
  const addressText = slash < 0 ? body : body.slice(0, slash);
  const v4 = mechanism.name === 'ip4';
  const bytes = v4 ? parseIPv4(addressText) : parseIPv6(addressText);
  if (!bytes) fail(`invalid ${mechanism.name} network "${addressText}"`, at + 1);
  mechanism.network = { family: v4 ? 4 : 6, bytes };
  const max = v4 ? IPV4_BITS : IPV6_BITS;
  const prefix = slash < 0 ? max : cidrLength(body.slice(slash + 1), max, at + 1 + slash);
  if (v4) mechanism.ip4Prefix = prefix;
  else mechanism.ip6Prefix = prefix;
}

function parseMechanism(term: string, position: number): Mechanism {
  const explicitQualifier = '+-~?'.includes(term[0] as string);
  const qualifier = (explicitQualifier ? term[0] : '+') as Qualifier;
  const rest = explicitQualifier ? term.slice(1) : term;
  const offset = explicitQualifier ? 1 : 0;
  const separator = rest.search(/[:/]/);
  const name = (separator < 0 ? rest : rest.slice(0, separator)).toLowerCase();
  const args = separator < 0 ? '' : rest.slice(separator);
  const argsAt = offset + name.length;
  const base = { kind: 'mechanism', qualifier, explicitQualifier, text: term, position } as const;
  switch (name) {
    case 'all':
      if (args !== '') fail('"all" takes no argument (RFC 7208 §5.1)', argsAt);
      return { ...base, name };
    case 'include':
    case 'exists': {
      if (!args.startsWith(':')) fail(`"${name}" needs ":" and a domain-spec (RFC 7208 §5.2, §5.7)`, argsAt);
      return { ...base, name, domainSpec: domainSpecOrFail(args.slice(1), argsAt + 1) };
    }
    case 'ptr': {
      if (args === '') return { ...base, name };
      if (!args.startsWith(':')) fail('"ptr" takes only ":" and a domain-spec (RFC 7208 §5.5)', argsAt);
      return { ...base, name, domainSpec: domainSpecOrFail(args.slice(1), argsAt + 1) };
    }
    case 'a':
    case 'mx': {
      const mechanism: Mechanism = { ...base, name };
      parseHostMechanism(mechanism, args, argsAt);
      return mechanism;
    }
    case 'ip4':
    case 'ip6': {
      const mechanism: Mechanism = { ...base, name };
      parseNetwork(mechanism, args, argsAt);
      return mechanism;
    }
    default:
      return fail(`unknown mechanism "${name}"`, offset);
  }
}

function parseModifier(term: string, name: string, position: number): Modifier {
  const value = term.slice(name.length + 1);
  const modifier: Modifier = { kind: 'modifier', name: name.toLowerCase(), text: term, position, value };
  if (modifier.name === 'redirect' || modifier.name === 'exp') {
    modifier.domainSpec = domainSpecOrFail(value, name.length + 1);
  } else {
    // RFC 7208 §6: unknown modifiers are ignored, but must still match unknown-modifier's ABNF.
    const parsed = parseMacroString(value, 'modifier', name.length + 1);
    if (parsed.error) fail(parsed.error.message, parsed.error.position);
  }
  return modifier;
}

function parseTerm(term: string, position: number): Term {
  for (let index = 0; index < term.length; index++) {
    const code = term.charCodeAt(index);
    // RFC 7208 §3.1 / §4.6.1: records are 7-bit ASCII and terms are separated by spaces only.
    if (code < 0x21 || code > 0x7e)
      fail(`character ${JSON.stringify(term[index])} not allowed (RFC 7208 §3.1)`, index);
  }
  const modifier = MODIFIER.exec(term);
  if (modifier) return parseModifier(term, modifier[1] as string, position);
  if (/^[^:/]*=/.test(term))
    fail('invalid modifier name (RFC 7208 §12: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ))');
  return parseMechanism(term, position);
}

export function parseSpfRecord(text: string): ParsedSpf {
  const parsed: ParsedSpf = { text, terms: [], mechanisms: [], errors: [], errorCount: 0 };
  const addError = (message: string, position: number, term: string) => {
    parsed.errorCount++;
    if (parsed.errors.length < MAX_KEPT_ERRORS) {
      parsed.errors.push({
        message,
        position,
        term: term.length > MAX_QUOTED_TERM ? `${term.slice(0, MAX_QUOTED_TERM)}…` : term,
      });
    }
  };
  if (!isSpfRecord(text)) {
    addError('record does not begin with "v=spf1" (RFC 7208 §4.5)', 0, text.split(' ')[0] ?? '');
    return parsed;
  }
  let index = 'v=spf1'.length;
  while (index < text.length) {
    if (text[index] === ' ') {
      index++;
      continue;
    }
    const end = text.indexOf(' ', index);
    const termEnd = end < 0 ? text.length : end;
    const term = text.slice(index, termEnd);
    try {
      const parsedTerm = parseTerm(term, index);
      parsed.terms.push(parsedTerm);
      if (parsedTerm.kind === 'mechanism') parsed.mechanisms.push(parsedTerm);
      else if (parsedTerm.name === 'redirect' || parsedTerm.name === 'exp') {
        const key = parsedTerm.name === 'redirect' ? 'redirect' : 'exp';
        // RFC 7208 §6: redirect and exp MUST NOT appear in a record more than once each.
        if (parsed[key]) addError(`"${key}" appears more than once (RFC 7208 §6)`, index, term);
        else parsed[key] = parsedTerm;
      }
    } catch (error) {
      if (!(error instanceof TermError)) throw error;
      addError(error.message, index + error.at, term);
    }
    index = termEnd;
  }
  return parsed;
}
