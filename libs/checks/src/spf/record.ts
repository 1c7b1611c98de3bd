/**
 * SPF record selection from a TXT answer (RFC 7208 §4.5) and the limits the RFC names.
 */
import { domainNameProblem, stripTrailingDot } from './domain-name.ts';

/** RFC 7208 §4.6.4: terms that cause DNS queries (include, a, mx, ptr, exists, redirect). */
export const MAX_DNS_MECHANISMS = 10; // RFC 7208 §4.6.4
/** RFC 7208 §4.6.4: "SPF implementations SHOULD limit 'void lookups' to two." */
export const MAX_VOID_LOOKUPS = 2; // RFC 7208 §4.6.4
/** RFC 7208 §4.6.4: each mx / ptr term may look at no more than 10 names. */
export const MAX_MX_OR_PTR_NAMES = 10; // RFC 7208 §4.6.4
/**
 * RFC 7208 §3.4: if the DNS name plus the text of all records of the type stay under 450
 * octets, answers ought to fit in a 512-octet UDP message.
 */
export const MAX_UDP_FRIENDLY_OCTETS = 450; // RFC 7208 §3.4
/** RFC 1035 §3.3: a character-string is one length octet and at most 255 octets. */
export const MAX_CHARACTER_STRING_OCTETS = 255; // RFC 1035 §3.3

const VERSION = 'v=spf1';

/**
 * RFC 7208 §4.5: a record is an SPF record when it begins with "v=spf1" (case-insensitive,
 * §12: ABNF strings are case-insensitive) followed by a space or the end of the record.
 */
export function isSpfRecord(text: string): boolean {
  return (
    text.slice(0, VERSION.length).toLowerCase() === VERSION &&
    (text.length === VERSION.length || text[VERSION.length] === ' ')
  );
}

/** RFC 7208 §3.3: the character-strings of one TXT record are concatenated with no separator. */
export function joinTxt(strings: string[]): string {
  return strings.join('');
}

export type SpfSelection =
  | { kind: 'none' }
  | { kind: 'single'; text: string; strings: string[] }
  | { kind: 'multiple'; texts: string[] };

/**
 * RFC 7208 §4.5: discard records that do not begin with "v=spf1"; none left is "none", more than
 * one is "permerror". Type SPF (99) records are never consulted (§3.1, §14.1), so only TXT
 * records are handed in here.
 */
export function selectSpfRecord(records: string[][]): SpfSelection {
  const matching = records.filter((strings) => isSpfRecord(joinTxt(strings)));
  if (matching.length === 0) return { kind: 'none' };
  if (matching.length > 1) return { kind: 'multiple', texts: matching.map(joinTxt) };
  const strings = matching[0] as string[];
  return { kind: 'single', text: joinTxt(strings), strings };
}

/**
 * RFC 7208 §4.3: a <domain> that is malformed (a label over 63 characters, an empty label, ...)
 * or not multi-label makes check_host() return "none". Also refuses address literals.
 */
export function checkHostDomainProblem(domain: string): string | undefined {
  if (domain.startsWith('[')) return 'address literal, not a domain name';
  const problem = domainNameProblem(domain);
  if (problem) return `malformed domain name (${problem})`;
  if (!stripTrailingDot(domain).includes('.')) return 'not a multi-label domain name';
  return undefined;
}
