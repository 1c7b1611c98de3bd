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

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 IPv6. */
  text: string;
}

export type IpParseFailure = 'not_ip' | 'ambiguous_ipv4' | 'zone_id' | 'malformed_ipv6';

export type IpParseResult = ({ ok: true } & ParsedIp) | { ok: false; reason: IpParseFailure };

const IPV4_STRICT =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** A label that some IPv4 parser would read as a number: decimal, octal-looking, or 0x-hex. */
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/i;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/i;

export function parseIpv4(text: string): Uint8Array | undefined {
  const m = IPV4_STRICT.exec(text);
  if (!m) return undefined;
  return Uint8Array.of(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]));
}

/** True when `host` ends in a numeric label, so it must be a canonical IPv4 or nothing. */
export function endsInNumber(host: string): boolean {
  const labels = host.split('.');
  if (labels.length > 1 && labels.at(-1) === '') labels.pop();
  const last = labels.at(-1) ?? '';
  return last !== '' && NUMERIC_LABEL.test(last);
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-f:.]+$/i.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as string;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (!v4) return undefined;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else if (IPV6_GROUP.test(piece)) {
        out.push(Number.parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0] as string);
  if (!head) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const tail = groups(halves[1] as string);
    // A dotted quad is only allowed at the very end (RFC 4291 §2.2 form 3).
    if (!tail || (halves[0] as string).includes('.')) return undefined;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    words = head;
  }
  if (words.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

/** RFC 5952 §4: lower case, leading zeros dropped, the longest run (>= 2) of zero groups as `::`. */
export function formatIpv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatIp(bytes: Uint8Array): string {
  return bytes.length === 4 ? Array.from(bytes).join('.') : formatIpv6(bytes);
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
    const bytes = parseIpv6(text);
    if (!bytes) return { ok: false, reason: 'malformed_ipv6' };
    return { ok: true, family: 6, bytes, text: formatIpv6(bytes) };
  }
  if (bracketed) return { ok: false, reason: 'malformed_ipv6' };
  const v4 = parseIpv4(text);
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
  const fullBytes = prefixLength >> 3;
  for (let i = 0; i < fullBytes; i++) if (address[i] !== network[i]) return false;
  const rest = prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((address[fullBytes] as number) & mask) === ((network[fullBytes] as number) & mask);
}
