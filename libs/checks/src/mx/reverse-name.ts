/**
 * Address helpers the MX check needs: canonical comparison of addresses from DNS answers, and the
 * reverse-mapping names for PTR queries (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa).
 * Parsing is core's, shared with SPF and the SSRF guard.
 */
import { formatIp, parseIp, reverseName as reverseNameOf } from '@mailwarden/core';

/** A comparable form: the canonical text of the address (RFC 5952 for IPv6), or undefined. */
export function addressKey(address: string): string | undefined {
  const parsed = parseIp(address);
  return parsed ? formatIp(parsed) : undefined;
}

/** The PTR query name for an address, or undefined when the text is not an address. */
export function reverseName(address: string): string | undefined {
  const parsed = parseIp(address);
  return parsed ? reverseNameOf(parsed) : undefined;
}

/** True for text an MX exchange should never be: an address literal (RFC 5321 §5.1). */
export function looksLikeAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return parseIp(h) !== undefined || /^ipv6:/i.test(h);
}
