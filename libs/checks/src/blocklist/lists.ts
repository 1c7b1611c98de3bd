/**
 * Blocklist zones and their return-code maps: the configuration format of BLOCKLISTS_IP,
 * BLOCKLISTS_DOMAIN, `--blocklist-ip` and `--blocklist-domain` (docs/blocklists.md), and the
 * documented default set.
 *
 * Format: a comma list of zones; a zone may carry its code map after `=`, entries separated by
 * `|`:
 *
 *   zen.spamhaus.org=127.0.0.2:SBL|127.0.0.4-127.0.0.7:XBL|127.255.255.254:!public resolver
 *   multi.uribl.com=&127.0.0.2:black|&127.0.0.8:red|127.0.0.1:!query refused
 *
 * An entry is `<codes>:<meaning>`. Codes are one IPv4 answer (`127.0.0.2`), an inclusive range
 * (`127.0.0.4-127.0.0.7`), or a bit test (`&127.0.0.8`: any a.b.c.X with the same first three
 * octets whose last octet has those bits set, as SURBL and URIBL encode several lists in one
 * answer). A meaning starting with `!` marks an error code: the list refused or could not answer
 * the query, which is `unknown`, never a listing. The word `default` stands for the default set,
 * and `none` for no list at all. Everything fits in one environment variable or flag value (no
 * spaces needed, no quoting).
 */
import { parseIPv4, type VariableSpec } from '@mailwarden/core';
import { normalizeDnsName } from '../shared/dns-name.ts';

export type CodeMatch =
  | { kind: 'range'; first: number; last: number }
  /** Matches when the answer's top 24 bits equal `prefix` and its last octet has every bit of `bits`. */
  | { kind: 'bits'; prefix: number; bits: number };

export interface ReturnCode {
  /** The entry as configured, e.g. `127.0.0.4-127.0.0.7` or `&127.0.0.8`. */
  code: string;
  match: CodeMatch;
  meaning: string;
  /** The list's own way of saying "no answer for you": unknown, never listed. */
  error: boolean;
}

export interface BlocklistZone {
  /** The DNS zone queries go under, normalised (lower case, no trailing dot). */
  zone: string;
  /** Empty: RFC 5782 defaults (127.0.0.2-127.0.0.254 listed, the rest unknown). */
  codes: ReturnCode[];
}

/** Caps on configuration so one bad variable cannot make every scan do thousands of queries. */
export const MAX_BLOCKLISTS = 32;
export const MAX_CODES_PER_LIST = 64;
export const MAX_MEANING_CHARS = 120;

const SPAMHAUS_ERRORS =
  '127.255.255.252:!typing error in the DNSBL name|127.255.255.254:!query via a public or open resolver (or generic rDNS)|127.255.255.255:!excessive number of queries';

/**
 * The default sets, with the return codes each list documents. Spamhaus refuses queries that
 * reach it through public resolvers (127.255.255.254) and Barracuda answers only registered
 * resolvers; those answers end as `unknown` with the reason, never as listings.
 */
export const DEFAULT_IP_BLOCKLISTS_SPEC = [
  `zen.spamhaus.org=127.0.0.2:SBL - Spamhaus SBL (direct spam sources)|127.0.0.3:SBL CSS - Spamhaus snowshoe spam sources|127.0.0.4-127.0.0.7:XBL - exploited host (CBL: malware or open proxy)|127.0.0.9:SBL DROP - hijacked or criminal netblock (DROP/EDROP)|127.0.0.10:PBL - ISP-maintained policy list (end-user range that should not send directly)|127.0.0.11:PBL - Spamhaus-maintained policy list (end-user range that should not send directly)|${SPAMHAUS_ERRORS}`,
  'bl.spamcop.net=127.0.0.2:SpamCop - reported as a spam source',
  'b.barracudacentral.org=127.0.0.2:Barracuda BRBL - poor sending reputation',
  'psbl.surriel.com=127.0.0.2:PSBL - sent mail to spam traps',
].join(',');

export const DEFAULT_DOMAIN_BLOCKLISTS_SPEC = [
  `dbl.spamhaus.org=127.0.1.2:DBL - spam domain|127.0.1.4:DBL - phishing domain|127.0.1.5:DBL - malware domain|127.0.1.6:DBL - botnet command and control domain|127.0.1.102:DBL - abused legitimate domain (spam)|127.0.1.103:DBL - abused spammed redirector domain|127.0.1.104:DBL - abused legitimate domain (phishing)|127.0.1.105:DBL - abused legitimate domain (malware)|127.0.1.106:DBL - abused legitimate domain (botnet C&C)|127.0.1.255:!IP queries prohibited|${SPAMHAUS_ERRORS}`,
  'multi.surbl.org=&127.0.0.8:SURBL PH - phishing|&127.0.0.16:SURBL MW - malware|&127.0.0.64:SURBL ABUSE - spam and abuse|&127.0.0.128:SURBL CR - cracked site|127.0.0.1:!access blocked (resolver refused by SURBL)',
  'multi.uribl.com=&127.0.0.2:URIBL black - spam domain|&127.0.0.4:URIBL grey - grey list (bulk sender with mixed reputation)|&127.0.0.8:URIBL red - newly seen in spam|127.0.0.1:!query refused (public resolver or over the free limit)',
].join(',');

export type ParsedBlocklists = { ok: true; lists: BlocklistZone[] } | { ok: false; errors: string[] };

const ERROR_RANGE_PREFIX = (127 << 24) | (255 << 16) | (255 << 8);

export function ipv4Number(text: string): number | undefined {
  const bytes = parseIPv4(text);
  if (!bytes) return undefined;
  return (
    (((bytes[0] as number) << 24) |
      ((bytes[1] as number) << 16) |
      ((bytes[2] as number) << 8) |
      (bytes[3] as number)) >>>
    0
  );
}

export function formatIPv4Number(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/** 127.255.255.0/24: error answers of Spamhaus and others, never a listing whatever a map says. */
export function isErrorRange(value: number): boolean {
  return (value & 0xffffff00) >>> 0 === ERROR_RANGE_PREFIX >>> 0;
}

export function isLoopback8(value: number): boolean {
  return value >>> 24 === 127;
}

function parseCodes(text: string): CodeMatch | string {
  if (text.startsWith('&')) {
    const value = ipv4Number(text.slice(1));
    if (value === undefined) return `not an IPv4 bit mask: ${JSON.stringify(text)}`;
    if ((value & 0xff) === 0) return `a bit mask needs bits in its last octet: ${JSON.stringify(text)}`;
    return { kind: 'bits', prefix: (value & 0xffffff00) >>> 0, bits: value & 0xff };
  }
  const [from, to, ...rest] = text.split('-');
  if (rest.length > 0) return `not a code or range: ${JSON.stringify(text)}`;
  const first = ipv4Number(from ?? '');
  const last = to === undefined ? first : ipv4Number(to);
  if (first === undefined || last === undefined || last < first)
    return `not a code or range: ${JSON.stringify(text)}`;
  return { kind: 'range', first, last };
}

function parseEntry(zone: string, entry: string, errors: string[]): ReturnCode | undefined {
  const colon = entry.indexOf(':');
  if (colon <= 0) {
    errors.push(`${zone}: entry ${JSON.stringify(entry)} is not <code>:<meaning>`);
    return undefined;
  }
  const code = entry.slice(0, colon).trim();
  let meaning = entry.slice(colon + 1).trim();
  const error = meaning.startsWith('!');
  if (error) meaning = meaning.slice(1).trim();
  // `,` and `|` separate lists and entries, so no meaning can hold them.
  if (meaning === '' || meaning.length > MAX_MEANING_CHARS) {
    errors.push(`${zone}: the meaning of ${code} must be 1 to ${MAX_MEANING_CHARS} characters`);
    return undefined;
  }
  const match = parseCodes(code);
  if (typeof match === 'string') {
    errors.push(`${zone}: ${match}`);
    return undefined;
  }
  const lowest = match.kind === 'range' ? match.first : match.prefix;
  const highest = match.kind === 'range' ? match.last : (match.prefix | 0xff) >>> 0;
  if (!isLoopback8(lowest) || !isLoopback8(highest)) {
    errors.push(`${zone}: ${code} lies outside 127.0.0.0/8, where no list answers (RFC 5782 §2.1)`);
    return undefined;
  }
  if (!error && (isErrorRange(lowest) || isErrorRange(highest))) {
    errors.push(`${zone}: ${code} is in 127.255.255.0/24, which is reserved for error answers`);
    return undefined;
  }
  return { code, match, meaning, error };
}

function parseZone(item: string, errors: string[]): BlocklistZone | undefined {
  const equals = item.indexOf('=');
  const rawZone = (equals === -1 ? item : item.slice(0, equals)).trim();
  const zone = normalizeDnsName(rawZone);
  if (zone === null || !zone.includes('.')) {
    errors.push(`not a DNS zone: ${JSON.stringify(rawZone.slice(0, 80))}`);
    return undefined;
  }
  if (equals === -1) return { zone, codes: [] };
  const entries = item
    .slice(equals + 1)
    .split('|')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) {
    errors.push(`${zone}: "=" must be followed by at least one <code>:<meaning>`);
    return undefined;
  }
  if (entries.length > MAX_CODES_PER_LIST) {
    errors.push(`${zone}: at most ${MAX_CODES_PER_LIST} codes per list`);
    return undefined;
  }
  const before = errors.length;
  const codes = entries.map((e) => parseEntry(zone, e, errors));
  if (errors.length > before) return undefined;
  return { zone, codes: codes as ReturnCode[] };
}

function parseItems(text: string, errors: string[]): BlocklistZone[] {
  const lists: BlocklistZone[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '' || item.toLowerCase() === 'none') continue;
    const zone = parseZone(item, errors);
    if (zone) lists.push(zone);
  }
  return lists;
}

/**
 * Parses one configuration value. `defaults` is what the word `default` expands to (the default
 * set of the same kind). A zone named twice keeps its last definition, so `default,zen.spamhaus.org=…`
 * overrides one list of the default set.
 */
export function parseBlocklists(text: string, defaults: string): ParsedBlocklists {
  const errors: string[] = [];
  const items = text.split(',').map((i) => i.trim());
  const hasNone = items.some((i) => i.toLowerCase() === 'none');
  if (hasNone && items.some((i) => i !== '' && i.toLowerCase() !== 'none'))
    errors.push('"none" cannot be combined with lists');
  const expanded = items
    .map((i) => (i.toLowerCase() === 'default' ? defaults : i))
    .filter((i) => i !== '')
    .join(',');
  const byZone = new Map<string, BlocklistZone>();
  for (const list of parseItems(expanded, errors)) {
    byZone.delete(list.zone);
    byZone.set(list.zone, list);
  }
  if (byZone.size > MAX_BLOCKLISTS) errors.push(`at most ${MAX_BLOCKLISTS} lists`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, lists: [...byZone.values()] };
}

function parsedDefaults(spec: string): BlocklistZone[] {
  const parsed = parseBlocklists(spec, '');
  if (!parsed.ok) throw new Error(`default blocklists do not parse: ${parsed.errors.join('; ')}`);
  return parsed.lists;
}

export const DEFAULT_IP_BLOCKLISTS: readonly BlocklistZone[] = parsedDefaults(DEFAULT_IP_BLOCKLISTS_SPEC);
export const DEFAULT_DOMAIN_BLOCKLISTS: readonly BlocklistZone[] = parsedDefaults(
  DEFAULT_DOMAIN_BLOCKLISTS_SPEC,
);

export const parseIpBlocklists = (text: string) => parseBlocklists(text, DEFAULT_IP_BLOCKLISTS_SPEC);
export const parseDomainBlocklists = (text: string) => parseBlocklists(text, DEFAULT_DOMAIN_BLOCKLISTS_SPEC);

/** The value form of a list, so a parsed configuration can be printed and parsed again. */
export function formatBlocklist(list: BlocklistZone): string {
  if (list.codes.length === 0) return list.zone;
  return `${list.zone}=${list.codes.map((c) => `${c.code}:${c.error ? '!' : ''}${c.meaning}`).join('|')}`;
}

/**
 * BLOCKLISTS_IP / BLOCKLISTS_DOMAIN as a configuration variable for an app's config.ts: unset or
 * empty means the default set, `none` means no list, and every bad entry is reported at once.
 */
export function blocklistsVariable(kind: 'ip' | 'domain'): VariableSpec<BlocklistZone[]> {
  const parse = kind === 'ip' ? parseIpBlocklists : parseDomainBlocklists;
  return {
    description:
      kind === 'ip'
        ? 'DNSBL zones with optional return-code maps, comma list (docs/blocklists.md); "default", "none"'
        : 'domain blocklist zones with optional return-code maps, comma list (docs/blocklists.md); "default", "none"',
    fallback: [...(kind === 'ip' ? DEFAULT_IP_BLOCKLISTS : DEFAULT_DOMAIN_BLOCKLISTS)],
    parse(raw) {
      const parsed = parse(raw);
      if (!parsed.ok) throw new Error(parsed.errors.join('; '));
      return parsed.lists;
    },
  };
}
