/**
 * The PROBE_ALLOW_CIDRS allow-list: non-public ranges that probes, fetches and webhooks may reach
 * anyway (tests, labs). Parsed strictly: an entry with host bits set (`127.0.0.1/8`) is refused,
 * because it usually means the operator meant something narrower than what would be opened.
 */
import type { AddressClassification } from './classify.ts';
import { type IpFamily, type ParsedIp, parseIpLiteral, prefixMatches, sameBytes } from './ip.ts';

export interface Cidr {
  family: IpFamily;
  network: Uint8Array;
  prefixLength: number;
  /** Canonical text, e.g. `127.0.0.0/8`. */
  text: string;
}

export type AllowList = readonly Cidr[];

export type CidrParseResult = { ok: true; cidr: Cidr } | { ok: false; error: string };

const PREFIX_LENGTH = /^(0|[1-9]\d{0,2})$/;

export function parseCidr(input: string): CidrParseResult {
  const text = input.trim();
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const parsed = parseIpLiteral(addrText);
  if (!parsed.ok)
    return { ok: false, error: `${JSON.stringify(input)}: not an IP address (${parsed.reason})` };
  const max = parsed.family === 4 ? 32 : 128;
  let prefixLength = max;
  if (slash !== -1) {
    const lenText = text.slice(slash + 1);
    if (!PREFIX_LENGTH.test(lenText) || Number(lenText) > max) {
      return { ok: false, error: `${JSON.stringify(input)}: prefix length must be 0..${max}` };
    }
    prefixLength = Number(lenText);
  }
  const masked = new Uint8Array(parsed.bytes.length);
  for (let bit = 0; bit < prefixLength; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    masked[byte] = (masked[byte] as number) | ((parsed.bytes[byte] as number) & mask);
  }
  if (!sameBytes(masked, parsed.bytes)) {
    return { ok: false, error: `${JSON.stringify(input)}: host bits are set below /${prefixLength}` };
  }
  return {
    ok: true,
    cidr: { family: parsed.family, network: masked, prefixLength, text: `${parsed.text}/${prefixLength}` },
  };
}

/** Parses `127.0.0.0/8,::1/128` (commas, optional spaces; empty means nothing is allowed). */
export function parseAllowList(
  input: string | undefined,
): { ok: true; allow: AllowList } | { ok: false; errors: string[] } {
  const allow: Cidr[] = [];
  const errors: string[] = [];
  for (const part of (input ?? '').split(',')) {
    if (part.trim() === '') continue;
    const r = parseCidr(part);
    if (r.ok) allow.push(r.cidr);
    else errors.push(r.error);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, allow };
}

/** The allow-list entry covering `ip`, if any. */
export function findAllowEntry(ip: ParsedIp, allow: AllowList): Cidr | undefined {
  return allow.find((c) => c.family === ip.family && prefixMatches(ip.bytes, c.network, c.prefixLength));
}

/**
 * Whether the allow-list opens an address the classifier refused. IPv4-mapped IPv6 addresses are
 * matched as the IPv4 address they are. Cloud metadata addresses are opened only by an entry for
 * that exact address: allowing a lab's 169.254.0.0/16 must not also hand out instance credentials.
 */
export function allowEntryFor(
  ip: ParsedIp,
  classification: AddressClassification,
  allow: AllowList,
): Cidr | undefined {
  let target: ParsedIp = ip;
  if (classification.embedded?.via === 'ipv4_mapped') {
    const v4 = parseIpLiteral(classification.embedded.address);
    if (v4.ok) target = v4;
  }
  const entry = findAllowEntry(target, allow);
  if (!entry) return undefined;
  const full = target.family === 4 ? 32 : 128;
  if (classification.verdict === 'cloud_metadata' && entry.prefixLength !== full) return undefined;
  return entry;
}
