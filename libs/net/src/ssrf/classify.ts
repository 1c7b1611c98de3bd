/**
 * The address classifier: is this address public unicast, and if not, why not. Pure; no I/O.
 *
 * IPv6 ranges that carry an IPv4 address are unwrapped and the embedded address decides, so
 * `::ffff:127.0.0.1`, `64:ff9b::a9fe:a9fe` (NAT64 of 169.254.169.254) and `2002:7f00:1::` (6to4 of
 * 127.0.0.1) are all refused for what they really reach.
 */
import { formatIp, type IpFamily, type ParsedIp, parseIpLiteral, prefixMatches } from './ip.ts';
import {
  IPV4_SPECIAL_RANGES,
  IPV6_SPECIAL_RANGES,
  type NonPublicReason,
  type SpecialRange,
} from './ranges.ts';

export type { NonPublicReason } from './ranges.ts';

/** `invalid`: the text is not an address in a form we accept (see ip.ts). */
export type AddressClass = 'public' | NonPublicReason | 'invalid';

export type Embedding = 'ipv4_mapped' | 'ipv4_compatible' | 'nat64' | 'nat64_local_use' | '6to4';

export interface AddressClassification {
  /** Canonical text of the address, or the input when it is invalid. */
  address: string;
  family?: IpFamily;
  verdict: AddressClass;
  /** The special-purpose range that decided, e.g. `169.254.0.0/16`. */
  range?: string;
  reference?: string;
  /** Set when the address embeds an IPv4 address that was classified in its place. */
  embedded?: { via: Embedding; address: string; verdict: AddressClass; range?: string };
}

const bytesOf = (text: string): Uint8Array => {
  const p = parseIpLiteral(text);
  if (!p.ok) throw new Error(`bad built-in prefix ${text}`);
  return p.bytes;
};
/** RFC 4291 §2.5.5.2 IPv4-mapped, ::ffff:0:0/96. */
const MAPPED = bytesOf('::ffff:0:0');
/** RFC 6052 §2.1 well-known NAT64 prefix 64:ff9b::/96. */
const NAT64 = bytesOf('64:ff9b::');
/** RFC 8215 local-use NAT64 prefix 64:ff9b:1::/48. */
const NAT64_LOCAL = bytesOf('64:ff9b:1::');
/** RFC 3056 §2 6to4, 2002::/16; the IPv4 address is bits 16..47. */
const SIX_TO_FOUR = bytesOf('2002::');
/** RFC 4291 §2.4 global unicast 2000::/3: the only IPv6 space that can be public. */
const GLOBAL_UNICAST = bytesOf('2000::');
const ZERO16 = new Uint8Array(16);

function lookup(bytes: Uint8Array, table: readonly SpecialRange[]): SpecialRange | undefined {
  return table.find((r) => prefixMatches(bytes, r.network, r.prefixLength));
}

function classifyV4(bytes: Uint8Array): AddressClassification {
  const range = lookup(bytes, IPV4_SPECIAL_RANGES);
  const address = formatIp(bytes);
  if (!range) return { address, family: 4, verdict: 'public' };
  return { address, family: 4, verdict: range.reason, range: range.cidr, reference: range.reference };
}

function viaEmbedded(
  address: string,
  via: Embedding,
  v4: Uint8Array,
  whenPublic: AddressClass,
  reference: string,
): AddressClassification {
  const inner = classifyV4(v4);
  const embedded = {
    via,
    address: inner.address,
    verdict: inner.verdict,
    ...(inner.range ? { range: inner.range } : {}),
  };
  const verdict = inner.verdict === 'public' ? whenPublic : inner.verdict;
  return { address, family: 6, verdict, reference, embedded };
}

function classifyV6(bytes: Uint8Array): AddressClassification {
  const address = formatIp(bytes);
  const last4 = bytes.subarray(12, 16);
  if (prefixMatches(bytes, MAPPED, 96)) {
    return viaEmbedded(address, 'ipv4_mapped', last4, 'public', 'RFC 4291 §2.5.5.2');
  }
  const exact = lookup(bytes, IPV6_SPECIAL_RANGES);
  if (exact && exact.prefixLength === 128 && prefixMatches(bytes, ZERO16, 96)) {
    // :: and ::1 sit inside ::/96 but are not IPv4-compatible addresses.
    return { address, family: 6, verdict: exact.reason, range: exact.cidr, reference: exact.reference };
  }
  if (prefixMatches(bytes, ZERO16, 96)) {
    // Deprecated (RFC 4291 §2.5.5.1): never a legitimate target even when the IPv4 part is public.
    return viaEmbedded(address, 'ipv4_compatible', last4, 'ipv4_compatible', 'RFC 4291 §2.5.5.1');
  }
  if (prefixMatches(bytes, NAT64, 96)) {
    return viaEmbedded(address, 'nat64', last4, 'public', 'RFC 6052 §2.1');
  }
  if (prefixMatches(bytes, NAT64_LOCAL, 48)) {
    // Local-use NAT64 may embed at several prefix lengths (RFC 6052 §2.2); whatever it embeds, the
    // prefix itself is not globally reachable (RFC 8215 §2), so a public IPv4 does not make it public.
    return viaEmbedded(address, 'nat64_local_use', last4, 'nat64_local_use', 'RFC 8215');
  }
  if (prefixMatches(bytes, SIX_TO_FOUR, 16)) {
    return viaEmbedded(address, '6to4', bytes.subarray(2, 6), 'public', 'RFC 3056 §2');
  }
  if (exact)
    return { address, family: 6, verdict: exact.reason, range: exact.cidr, reference: exact.reference };
  if (!prefixMatches(bytes, GLOBAL_UNICAST, 3)) {
    return { address, family: 6, verdict: 'reserved', reference: 'RFC 4291 §2.4 (outside 2000::/3)' };
  }
  return { address, family: 6, verdict: 'public' };
}

export function classifyParsed(ip: ParsedIp): AddressClassification {
  return ip.family === 4 ? classifyV4(ip.bytes) : classifyV6(ip.bytes);
}

/** Full classification with the range and any embedded IPv4 address, for evidence and logs. */
export function classifyAddressDetail(ip: string): AddressClassification {
  const parsed = parseIpLiteral(ip);
  if (!parsed.ok) return { address: ip, verdict: 'invalid' };
  return classifyParsed(parsed);
}

/** `public`, or the reason the address must not be dialled. */
export function classifyAddress(ip: string): AddressClass {
  return classifyAddressDetail(ip).verdict;
}
