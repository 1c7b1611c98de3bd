/**
 * Resolve a host and vet every address it has. The addresses returned are the only ones a guarded
 * connection may dial: the caller connects to them directly and never resolves the name again,
 * so an answer that changes between "check" and "use" (DNS rebinding) cannot slip through.
 */
import type { DnsResult, Resolver } from '@mailwarden/core';
import { type AllowList, allowEntryFor } from './cidr.ts';
import { type AddressClass, classifyParsed, type Embedding } from './classify.ts';
import { type IpFamily, type ParsedIp, parseIpLiteral } from './ip.ts';

/** RFC 1035 §2.3.4: 255 octets on the wire, so at most 253 characters of text. */
export const MAX_HOST_NAME_LENGTH = 253;
/** RFC 1035 §2.3.4. */
export const MAX_LABEL_LENGTH = 63;
/** No sane host has more; a huge answer only wastes connection attempts. */
export const MAX_ADDRESSES_PER_HOST = 16;

export interface VettedAddress {
  /** The address to dial (for an IPv4-mapped IPv6 answer, the IPv4 address it maps). */
  address: string;
  family: IpFamily;
  /** `public`, or the non-public class an allow-list entry opened. */
  verdict: AddressClass;
  /** The PROBE_ALLOW_CIDRS entry that opened a non-public address. */
  allowedBy?: string;
}

export interface RefusedAddress {
  address: string;
  verdict: AddressClass;
  range?: string;
  embedded?: { via: Embedding; address: string };
}

export type VetRefusal =
  | { reason: 'invalid_host'; host: string; detail: string }
  | { reason: 'ssrf_refused'; host: string; refused: RefusedAddress[]; detail: string }
  | { reason: 'dns_unknown'; host: string; detail: string }
  | { reason: 'dns_no_address'; host: string; detail: 'nxdomain' | 'nodata' };

export type VetResult =
  | { ok: true; host: string; isIpLiteral: boolean; addresses: VettedAddress[] }
  | ({ ok: false } & VetRefusal);

export interface VetOptions {
  resolver: Pick<Resolver, 'query'>;
  allow: AllowList;
}

const LABEL = /^(?!-)[a-z0-9_-]+(?<!-)$/;

/** Lower-cases, drops one trailing dot and URL brackets. */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.endsWith('.') && !h.startsWith('[')) h = h.slice(0, -1);
  return h;
}

function nameProblem(host: string): string | undefined {
  if (host.length === 0) return 'empty host';
  if (host.length > MAX_HOST_NAME_LENGTH) return `longer than ${MAX_HOST_NAME_LENGTH} characters`;
  for (const label of host.split('.')) {
    if (label.length === 0) return 'empty label';
    if (label.length > MAX_LABEL_LENGTH) return `label longer than ${MAX_LABEL_LENGTH} characters`;
    // Non-ASCII names must arrive as A-labels (RFC 5890 §2.3.2.1); `new URL()` already does that.
    if (!LABEL.test(label)) return `label ${JSON.stringify(label)} is not an LDH label`;
  }
  return undefined;
}

/** Vets one parsed address against the classifier and the allow-list. */
export function vetAddress(
  ip: ParsedIp,
  allow: AllowList,
): { ok: true; vetted: VettedAddress } | { ok: false; refused: RefusedAddress } {
  const c = classifyParsed(ip);
  const mapped = c.embedded?.via === 'ipv4_mapped' ? parseIpLiteral(c.embedded.address) : undefined;
  const dial = mapped?.ok ? mapped : ip;
  if (c.verdict === 'public') {
    return { ok: true, vetted: { address: dial.text, family: dial.family, verdict: 'public' } };
  }
  const entry = allowEntryFor(ip, c, allow);
  if (entry) {
    return {
      ok: true,
      vetted: { address: dial.text, family: dial.family, verdict: c.verdict, allowedBy: entry.text },
    };
  }
  return {
    ok: false,
    refused: {
      address: c.address,
      verdict: c.verdict,
      ...(c.range ? { range: c.range } : {}),
      ...(c.embedded ? { embedded: { via: c.embedded.via, address: c.embedded.address } } : {}),
    },
  };
}

function vetAll(host: string, isIpLiteral: boolean, ips: ParsedIp[], allow: AllowList): VetResult {
  const addresses: VettedAddress[] = [];
  const refused: RefusedAddress[] = [];
  const seen = new Set<string>();
  for (const ip of ips) {
    const r = vetAddress(ip, allow);
    if (!r.ok) refused.push(r.refused);
    else if (!seen.has(r.vetted.address)) {
      seen.add(r.vetted.address);
      addresses.push(r.vetted);
    }
  }
  // One forbidden address refuses the whole host: a name that mixes public and internal
  // addresses is either broken or an attack, and either way nothing should be dialled.
  if (refused.length > 0) {
    const list = refused.map((r) => `${r.address} (${r.verdict})`).join(', ');
    return { ok: false, reason: 'ssrf_refused', host, refused, detail: `${host} resolves to ${list}` };
  }
  return { ok: true, host, isIpLiteral, addresses: addresses.slice(0, MAX_ADDRESSES_PER_HOST) };
}

function addressesOf(result: DnsResult<'A'> | DnsResult<'AAAA'>): { ips: ParsedIp[]; bad: string[] } {
  const ips: ParsedIp[] = [];
  const bad: string[] = [];
  if (result.status !== 'answer') return { ips, bad };
  for (const text of result.records) {
    const p = parseIpLiteral(text);
    // An A record must be IPv4 and an AAAA IPv6; anything else from the resolver is not trusted.
    if (p.ok && p.family === (result.type === 'A' ? 4 : 6)) ips.push(p);
    else bad.push(String(text));
  }
  return { ips, bad };
}

/**
 * Resolves `host` (A and AAAA through the injected resolver) or takes it as an IP literal, and
 * vets every address. Never throws for DNS problems: they come back as a typed refusal.
 */
export async function resolveAndVet(host: string, options: VetOptions): Promise<VetResult> {
  const h = normaliseHost(host);
  const literal = parseIpLiteral(h);
  if (literal.ok) return vetAll(h.replace(/^\[|\]$/g, ''), true, [literal], options.allow);
  if (literal.reason !== 'not_ip') {
    return {
      ok: false,
      reason: 'invalid_host',
      host: h,
      detail: `not an accepted address form (${literal.reason})`,
    };
  }
  const problem = nameProblem(h);
  if (problem) return { ok: false, reason: 'invalid_host', host: h, detail: problem };

  let a: DnsResult<'A'>;
  let aaaa: DnsResult<'AAAA'>;
  try {
    [a, aaaa] = await Promise.all([options.resolver.query(h, 'A'), options.resolver.query(h, 'AAAA')]);
  } catch (err) {
    return {
      ok: false,
      reason: 'dns_unknown',
      host: h,
      detail: `resolver failed: ${(err as Error).message}`,
    };
  }
  const v4 = addressesOf(a);
  const v6 = addressesOf(aaaa);
  if (v4.bad.length + v6.bad.length > 0) {
    const bad = [...v4.bad, ...v6.bad].map((address) => ({ address, verdict: 'invalid' as const }));
    return {
      ok: false,
      reason: 'ssrf_refused',
      host: h,
      refused: bad,
      detail: 'resolver returned malformed addresses',
    };
  }
  const ips = [...v4.ips, ...v6.ips];
  if (ips.length > 0) return vetAll(h, false, ips, options.allow);
  // No address. Absence is only proven when neither family is unknown (DESIGN.md §3).
  const unknown = [a, aaaa].find((r) => r.status === 'unknown');
  if (unknown && unknown.status === 'unknown') {
    return { ok: false, reason: 'dns_unknown', host: h, detail: `${unknown.type} ${unknown.reason}` };
  }
  const nx = a.status === 'nxdomain' || aaaa.status === 'nxdomain';
  return { ok: false, reason: 'dns_no_address', host: h, detail: nx ? 'nxdomain' : 'nodata' };
}
