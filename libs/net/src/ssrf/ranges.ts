/**
 * The address ranges the SSRF guard refuses, from the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries (RFC 6890) plus the well-known cloud metadata endpoints. Each entry names its RFC.
 *
 * IPv6 is handled as an allow-shape: only global unicast 2000::/3 (RFC 4291 §2.4) and the NAT64
 * prefixes can be public at all; every other IPv6 address is `reserved` unless a more specific
 * entry below names it. Ranges that embed an IPv4 address are not in this table: the classifier
 * unwraps them and classifies the embedded address (see classify.ts).
 */
import { parseIpLiteral } from './ip.ts';

export type NonPublicReason =
  | 'unspecified'
  | 'this_network'
  | 'private'
  | 'loopback'
  | 'link_local'
  | 'cloud_metadata'
  | 'cgnat'
  | 'ietf_protocol'
  | 'documentation'
  | 'benchmarking'
  | 'multicast'
  | 'reserved'
  | 'broadcast'
  | 'deprecated_6to4_relay'
  | 'unique_local'
  | 'site_local'
  | 'discard_only'
  | 'teredo'
  | 'orchid'
  | 'ipv4_compatible'
  | 'nat64_local_use'
  | 'srv6_sid';

export interface SpecialRange {
  cidr: string;
  reason: NonPublicReason;
  reference: string;
  network: Uint8Array;
  prefixLength: number;
}

type RangeSpec = [cidr: string, reason: NonPublicReason, reference: string];

/**
 * Cloud instance metadata services. They sit inside ranges that are refused anyway, but are named
 * so that evidence says what was at stake, and because an allow-list entry covering their range
 * does not open them (only an entry for the exact address does; see cidr.ts).
 */
const METADATA: RangeSpec[] = [
  ['169.254.169.254/32', 'cloud_metadata', 'AWS/GCP/Azure/OpenStack instance metadata'],
  ['169.254.170.2/32', 'cloud_metadata', 'AWS ECS task metadata'],
  ['169.254.169.123/32', 'cloud_metadata', 'AWS time sync service'],
  ['100.100.100.200/32', 'cloud_metadata', 'Alibaba Cloud instance metadata'],
  ['fd00:ec2::254/128', 'cloud_metadata', 'AWS instance metadata over IPv6'],
  ['fd00:ec2::23/128', 'cloud_metadata', 'AWS DNS resolver over IPv6'],
];

const IPV4: RangeSpec[] = [
  ['0.0.0.0/32', 'unspecified', 'RFC 1122 §3.2.1.3'],
  ['0.0.0.0/8', 'this_network', 'RFC 791, RFC 6890 §2.2.2'],
  ['10.0.0.0/8', 'private', 'RFC 1918 §3'],
  ['100.64.0.0/10', 'cgnat', 'RFC 6598'],
  ['127.0.0.0/8', 'loopback', 'RFC 1122 §3.2.1.3'],
  ['169.254.0.0/16', 'link_local', 'RFC 3927'],
  ['172.16.0.0/12', 'private', 'RFC 1918 §3'],
  // 192.0.0.0/24 holds a few globally reachable /32s (192.0.0.9, .10); no mail, MTA-STS or
  // webhook target lives there, so the whole block is refused.
  ['192.0.0.0/24', 'ietf_protocol', 'RFC 6890 §2.1'],
  ['192.0.2.0/24', 'documentation', 'RFC 5737 (TEST-NET-1)'],
  ['192.88.99.0/24', 'deprecated_6to4_relay', 'RFC 7526'],
  ['192.168.0.0/16', 'private', 'RFC 1918 §3'],
  ['198.18.0.0/15', 'benchmarking', 'RFC 2544'],
  ['198.51.100.0/24', 'documentation', 'RFC 5737 (TEST-NET-2)'],
  ['203.0.113.0/24', 'documentation', 'RFC 5737 (TEST-NET-3)'],
  ['224.0.0.0/4', 'multicast', 'RFC 5771'],
  ['255.255.255.255/32', 'broadcast', 'RFC 919 §7'],
  ['240.0.0.0/4', 'reserved', 'RFC 1112 §4'],
];

const IPV6: RangeSpec[] = [
  ['::/128', 'unspecified', 'RFC 4291 §2.5.2'],
  ['::1/128', 'loopback', 'RFC 4291 §2.5.3'],
  ['100::/64', 'discard_only', 'RFC 6666'],
  ['2001::/32', 'teredo', 'RFC 4380'],
  ['2001:2::/48', 'benchmarking', 'RFC 5180'],
  ['2001:10::/28', 'orchid', 'RFC 4843 (ORCHID, deprecated)'],
  ['2001:20::/28', 'orchid', 'RFC 7343 (ORCHIDv2)'],
  // The rest of 2001::/23 is IETF protocol assignments (anycast services, AMT, AS112): nothing
  // a probe or a fetch should reach.
  ['2001::/23', 'ietf_protocol', 'RFC 2928'],
  ['2001:db8::/32', 'documentation', 'RFC 3849'],
  ['3fff::/20', 'documentation', 'RFC 9637'],
  ['5f00::/16', 'srv6_sid', 'RFC 9602'],
  ['fc00::/7', 'unique_local', 'RFC 4193'],
  ['fe80::/10', 'link_local', 'RFC 4291 §2.5.6'],
  ['fec0::/10', 'site_local', 'RFC 3879 (deprecated)'],
  ['ff00::/8', 'multicast', 'RFC 4291 §2.7'],
];

function build(specs: RangeSpec[]): SpecialRange[] {
  return specs
    .map(([cidr, reason, reference]) => {
      const [addr, len] = cidr.split('/') as [string, string];
      const parsed = parseIpLiteral(addr);
      if (!parsed.ok) throw new Error(`bad built-in range ${cidr}`);
      return { cidr, reason, reference, network: parsed.bytes, prefixLength: Number(len) };
    })
    .sort((a, b) => b.prefixLength - a.prefixLength);
}

/** Most specific first, so the first match is the best description. */
export const IPV4_SPECIAL_RANGES: readonly SpecialRange[] = build([
  ...METADATA.filter(([c]) => !c.includes(':')),
  ...IPV4,
]);
export const IPV6_SPECIAL_RANGES: readonly SpecialRange[] = build([
  ...METADATA.filter(([c]) => c.includes(':')),
  ...IPV6,
]);
