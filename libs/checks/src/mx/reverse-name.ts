/**
 * Address text helpers the MX check needs without any network library: canonical comparison of
 * addresses from DNS answers, and the reverse-mapping names for PTR queries (RFC 1035 §3.5
 * in-addr.arpa, RFC 3596 §2.5 ip6.arpa nibbles).
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Eight 16-bit groups of an IPv6 address (RFC 4291 §2.2 text forms), or undefined. */
function ipv6Words(input: string): number[] | undefined {
  if (!/^[0-9a-f:.]+$/i.test(input)) return undefined;
  let text = input;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // A trailing dotted quad stands for the last two groups.
    if (!IPV4.test(last)) return undefined;
    const o = last.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':'));
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return groups.map((g) => Number.parseInt(g, 16));
}

/** A comparable form: dotted quad for IPv4, 32 lower-case hex digits for IPv6. */
export function addressKey(address: string): string | undefined {
  if (IPV4.test(address)) return address;
  const words = ipv6Words(address);
  return words?.map((w) => w.toString(16).padStart(4, '0')).join('');
}

/** The PTR query name for an address, or undefined when the text is not an address. */
export function reverseName(address: string): string | undefined {
  if (IPV4.test(address)) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const key = addressKey(address);
  if (!key) return undefined;
  return `${key.split('').reverse().join('.')}.ip6.arpa`;
}

/** True for text an MX exchange should never be: an address literal (RFC 5321 §5.1). */
export function looksLikeAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return IPV4.test(h) || (h.includes(':') && addressKey(h) !== undefined) || /^ipv6:/i.test(h);
}
