/**
 * Strict IP address text parsing for the SSRF guard.
 *
 * What is accepted (and nothing else):
 * - IPv4 in the dotted-quad form of RFC 791 with four decimal octets 0..255 and no leading zeros.
 * - IPv6 in the text forms of RFC 4291 §2.2 (full, `::`-compressed, and with a trailing dotted
 *   quad), case-insensitive, optionally wrapped in `[...]` as in URLs (RFC 3986 §3.2.2).
 *
 * What is refused, on purpose:
 * - Every other IPv4 spelling that `inet_aton` or the WHATWG URL parser would still turn into an
 *   address: `0x7f.1`, `017700000001`, `127.1`, `127.000.0.1`, `2130706433`. A name whose last
 *   label is numeric (decimal, octal-looking or `0x` hex) is never treated as a host name either
 *   (the WHATWG "ends in a number" rule), because some resolver down the line might read it as an
 *   address. No top-level domain is all-numeric (RFC 3696 §2), so no real name is lost.
 * - Zone identifiers (`fe80::1%eth0`, RFC 6874): they only make sense for link-local and
 *   interface-scoped addresses, which are never reachable targets.
 */

import {
  cidrContains,
  formatIp as formatAddress,
  type IpFamily,
  parseIPv4,
  parseIPv6,
} from '@mailwarden/core';

export type { IpFamily };

export interface ParsedIp {
  family: IpFamily;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 IPv6. */
  text: string;
}

export type IpParseFailure = 'not_ip' | 'ambiguous_ipv4' | 'zone_id' | 'malformed_ipv6';

export type IpParseResult = ({ ok: true } & ParsedIp) | { ok: false; reason: IpParseFailure };

/** A label that some IPv4 parser would read as a number: decimal, octal-looking, or 0x-hex. */
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/i;

/** True when `host` ends in a numeric label, so it must be a canonical IPv4 or nothing. */
export function endsInNumber(host: string): boolean {
  const labels = host.split('.');
  if (labels.length > 1 && labels.at(-1) === '') labels.pop();
  const last = labels.at(-1) ?? '';
  return last !== '' && NUMERIC_LABEL.test(last);
}

/** Canonical text of 4 or 16 address bytes: dotted quad, or RFC 5952 IPv6. */
export function formatIp(bytes: Uint8Array): string {
  return formatAddress({ family: bytes.length === 4 ? 4 : 6, bytes });
}

/**
 * Parses an IP literal. `[...]` brackets are accepted around IPv6 only. Returns `not_ip` for text
 * that is a plausible host name, so callers can go on to resolve it.
 */
export function parseIpLiteral(input: string): IpParseResult {
  let text = input;
  const bracketed = text.startsWith('[') && text.endsWith(']');
  if (bracketed) text = text.slice(1, -1);
  if (text.includes('%')) return { ok: false, reason: 'zone_id' };
  if (text.includes(':')) {
    const bytes = parseIPv6(text);
    if (!bytes) return { ok: false, reason: 'malformed_ipv6' };
    return { ok: true, family: 6, bytes, text: formatIp(bytes) };
  }
  if (bracketed) return { ok: false, reason: 'malformed_ipv6' };
  const v4 = parseIPv4(text);
  if (v4) return { ok: true, family: 4, bytes: v4, text: formatIp(v4) };
  if (endsInNumber(text)) return { ok: false, reason: 'ambiguous_ipv4' };
  return { ok: false, reason: 'not_ip' };
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** True when the first `prefixLength` bits of `address` equal those of `network`. */
export function prefixMatches(address: Uint8Array, network: Uint8Array, prefixLength: number): boolean {
  if (address.length !== network.length) return false;
  const family = address.length === 4 ? 4 : 6;
  return cidrContains({ family, bytes: network }, prefixLength, { family, bytes: address });
}
