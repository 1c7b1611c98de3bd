/**
 * Small, strict IP address helpers shared by the pure checks (which may not import node:net) and
 * the SSRF guard. One parser for the whole product, so an address means the same thing everywhere.
 *
 * Addresses are kept as bytes (4 for IPv4, 16 for IPv6) so CIDR matching is a prefix compare.
 * Parsing is strict on purpose: SPF's `ip4-network` uses RFC 3986 `dec-octet` (no leading zeros,
 * RFC 7208 §12), and `ip6-network` is the text form of RFC 4291 §2.2, with no zone index.
 */
export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  bytes: Uint8Array;
}

export const IPV4_BITS = 32;
export const IPV6_BITS = 128;

/** RFC 3986 §3.2.2 dec-octet: "0"-"9" / "10"-"99" / "100"-"199" / "200"-"249" / "250"-"255". */
const DEC_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4_PATTERN = new RegExp(`^${DEC_OCTET}(?:\\.${DEC_OCTET}){3}$`);
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

export function parseIPv4(text: string): Uint8Array | undefined {
  if (!IPV4_PATTERN.test(text)) return undefined;
  return Uint8Array.from(text.split('.').map(Number));
}

/** Parses the groups on one side of `::`; an embedded IPv4 tail counts as two groups. */
function parseGroups(text: string, allowIPv4Tail: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index] as string;
    if (allowIPv4Tail && index === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4(part);
      if (!v4) return undefined;
      groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
    } else if (HEX_GROUP.test(part)) {
      groups.push(Number.parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length > 45 || !text.includes(':')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0] as string, false);
    const tail = parseGroups(halves[1] as string, true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (all?.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(text);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

/** True for ::ffff:a.b.c.d (RFC 4291 §2.5.5.2). */
export function isIPv4Mapped(address: IpAddress): boolean {
  if (address.family !== 6) return false;
  for (let index = 0; index < 10; index++) if (address.bytes[index] !== 0) return false;
  return address.bytes[10] === 0xff && address.bytes[11] === 0xff;
}

/** An IPv4-mapped IPv6 address becomes the IPv4 address it carries; anything else is unchanged. */
export function unmapIPv4(address: IpAddress): IpAddress {
  return isIPv4Mapped(address) ? { family: 4, bytes: address.bytes.slice(12) } : address;
}

function formatIPv4(bytes: Uint8Array): string {
  return Array.from(bytes).join('.');
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run (>= 2) of zero groups as `::`. */
function formatIPv6(bytes: Uint8Array): string {
  if (isIPv4Mapped({ family: 6, bytes })) return `::ffff:${formatIPv4(bytes.slice(12))}`;
  const groups: number[] = [];
  for (let index = 0; index < 16; index += 2) {
    groups.push(((bytes[index] as number) << 8) | (bytes[index + 1] as number));
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

export function formatIp(address: IpAddress): string {
  return address.family === 4 ? formatIPv4(address.bytes) : formatIPv6(address.bytes);
}

/** True when `address` lies in `network`/`prefixLength`; addresses of different families never match. */
export function cidrContains(network: IpAddress, prefixLength: number, address: IpAddress): boolean {
  if (network.family !== address.family) return false;
  const maxBits = network.family === 4 ? IPV4_BITS : IPV6_BITS;
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > maxBits) return false;
  const fullBytes = Math.floor(prefixLength / 8);
  for (let index = 0; index < fullBytes; index++) {
    if (network.bytes[index] !== address.bytes[index]) return false;
  }
  const remainingBits = prefixLength % 8;
  if (remainingBits === 0) return true;
  const mask = (0xff << (8 - remainingBits)) & 0xff;
  return ((network.bytes[fullBytes] as number) & mask) === ((address.bytes[fullBytes] as number) & mask);
}

export function sameAddress(left: IpAddress, right: IpAddress): boolean {
  return cidrContains(left, left.family === 4 ? IPV4_BITS : IPV6_BITS, right);
}

/** The nibbles of an IPv6 address, most significant first, lower-case hex (RFC 3596 §2.5). */
export function ipv6Nibbles(bytes: Uint8Array): string[] {
  const nibbles: string[] = [];
  for (const byte of bytes) nibbles.push((byte >> 4).toString(16), (byte & 0xf).toString(16));
  return nibbles;
}

/** The reverse-mapping name: d.c.b.a.in-addr.arpa (RFC 1035 §3.5) or nibbles.ip6.arpa (RFC 3596 §2.5). */
export function reverseName(address: IpAddress): string {
  if (address.family === 4) return `${Array.from(address.bytes).reverse().join('.')}.in-addr.arpa`;
  return `${ipv6Nibbles(address.bytes).reverse().join('.')}.ip6.arpa`;
}
