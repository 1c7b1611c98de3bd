/**
 * Trust anchors: where validation starts (RFC 4033 §2, RFC 4035 §4.4). Built in are the IANA root
 * zone KSKs as DS records (https://data.iana.org/root-anchors/root-anchors.xml): KSK-2017 (key
 * tag 20326) and KSK-2024 (key tag 38696), both RSA/SHA-256 with SHA-256 digests. Operators and
 * tests replace them with a file in DS or DNSKEY presentation format (DNSSEC_TRUST_ANCHORS).
 */
import { keyTagOf, normaliseName } from './wire.ts';

export type TrustAnchor =
  | { owner: string; kind: 'DS'; keyTag: number; algorithm: number; digestType: number; digest: Buffer }
  | { owner: string; kind: 'DNSKEY'; keyTag: number; algorithm: number; flags: number; rdata: Buffer };

function rootDs(keyTag: number, digestHex: string): TrustAnchor {
  return {
    owner: '.',
    kind: 'DS',
    keyTag,
    algorithm: 8,
    digestType: 2,
    digest: Buffer.from(digestHex, 'hex'),
  };
}

export const IANA_ROOT_TRUST_ANCHORS: readonly TrustAnchor[] = Object.freeze([
  rootDs(20326, 'e06d44b80b8f1d39a95c0b0d7c65d08458e880409bbc683457104237c7f8ec8d'),
  rootDs(38696, '683d2d0acb8c9b712a1948b27f741219298d0a450d612c483af444a4c0fb2b16'),
]);

export interface TrustAnchorParseError {
  line: number;
  message: string;
}

export interface TrustAnchorFile {
  anchors: TrustAnchor[];
  errors: TrustAnchorParseError[];
}

/** A trust-anchor file is small; anything bigger is not one (bounds hostile input). */
export const MAX_TRUST_ANCHOR_FILE_BYTES = 256 * 1024;
const CLASSES = new Set(['IN']);
/** RFC 4034 §2.1.1: bit 7 Zone Key; RFC 5011 §3: bit 8 REVOKE. */
const FLAG_ZONE = 0x0100;
const FLAG_REVOKE = 0x0080;

/**
 * Splits presentation-format text into records: `;` comments dropped, parentheses join lines
 * (RFC 1035 §5.1). Each record remembers the line it started on.
 */
function records(text: string): { line: number; tokens: string[] }[] {
  const out: { line: number; tokens: string[] }[] = [];
  let current: { line: number; tokens: string[] } | null = null;
  let depth = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/;.*$/, '');
    const spaced = line.replace(/\(/g, ' ( ').replace(/\)/g, ' ) ');
    for (const token of spaced.split(/\s+/).filter((t) => t !== '')) {
      if (token === '(') depth++;
      else if (token === ')') depth = Math.max(0, depth - 1);
      else {
        current ??= { line: index + 1, tokens: [] };
        current.tokens.push(token);
      }
    }
    if (depth === 0 && current) {
      out.push(current);
      current = null;
    }
  });
  if (current) out.push(current);
  return out;
}

/**
 * Parses `<owner> [<ttl>] [IN] DS <tag> <alg> <digest type> <hex>` and
 * `<owner> [<ttl>] [IN] DNSKEY <flags> <protocol> <alg> <base64>` lines, as root-anchors files
 * (`dig . DNSKEY`, `unbound-anchor`) and zone files write them. DNSKEYs with the REVOKE bit are
 * skipped (RFC 5011 §2.1); every bad line is reported with its number.
 */
export function parseTrustAnchors(text: string): TrustAnchorFile {
  const anchors: TrustAnchor[] = [];
  const errors: TrustAnchorParseError[] = [];
  if (text.length > MAX_TRUST_ANCHOR_FILE_BYTES) {
    return {
      anchors,
      errors: [{ line: 0, message: `file larger than ${MAX_TRUST_ANCHOR_FILE_BYTES} bytes` }],
    };
  }
  for (const { line, tokens } of records(text)) {
    const fail = (message: string) => errors.push({ line, message });
    if (tokens[0]?.startsWith('$')) continue; // $TTL / $ORIGIN carry nothing an anchor needs
    const owner = tokens.shift();
    if (!owner?.endsWith('.')) {
      fail('the owner must be an absolute name ending in "."');
      continue;
    }
    let type = tokens.shift()?.toUpperCase();
    while (type !== undefined && (/^\d+$/.test(type) || CLASSES.has(type)))
      type = tokens.shift()?.toUpperCase();
    const numbers = (count: number) =>
      tokens.slice(0, count).map((t) => (/^\d+$/.test(t) ? Number(t) : Number.NaN));
    if (type === 'DS') {
      const [keyTag, algorithm, digestType] = numbers(3) as [number, number, number];
      const hex = tokens.slice(3).join('');
      if (![keyTag, algorithm, digestType].every((n) => Number.isInteger(n) && n >= 0) || keyTag > 0xffff) {
        fail('DS needs a key tag, an algorithm and a digest type');
      } else if (algorithm > 255 || digestType > 255) fail('DS algorithm or digest type out of range');
      else if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2 !== 0) fail('DS digest must be hexadecimal');
      else
        anchors.push({
          owner: normaliseName(owner),
          kind: 'DS',
          keyTag,
          algorithm,
          digestType,
          digest: Buffer.from(hex, 'hex'),
        });
    } else if (type === 'DNSKEY') {
      const [flags, protocol, algorithm] = numbers(3) as [number, number, number];
      const b64 = tokens.slice(3).join('');
      if (![flags, protocol, algorithm].every((n) => Number.isInteger(n) && n >= 0) || flags > 0xffff) {
        fail('DNSKEY needs flags, protocol and algorithm');
      } else if (protocol !== 3) fail('DNSKEY protocol must be 3 (RFC 4034 §2.1.2)');
      else if (algorithm > 255) fail('DNSKEY algorithm out of range');
      else if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) fail('DNSKEY public key must be base64');
      else if ((flags & FLAG_ZONE) === 0) fail('DNSKEY is not a zone key (flag bit 7 unset)');
      else if ((flags & FLAG_REVOKE) !== 0) continue;
      else {
        const key = Buffer.from(b64, 'base64');
        const rdata = Buffer.concat([Buffer.from([flags >> 8, flags & 0xff, protocol, algorithm]), key]);
        anchors.push({
          owner: normaliseName(owner),
          kind: 'DNSKEY',
          keyTag: keyTagOf(rdata),
          algorithm,
          flags,
          rdata,
        });
      }
    } else fail(`expected DS or DNSKEY, got ${type ?? 'nothing'}`);
  }
  return { anchors, errors };
}

/** Presentation form of anchors, the inverse of `parseTrustAnchors` (for delv/unbound configs in tests, and docs). */
export function formatTrustAnchor(anchor: TrustAnchor): string {
  const owner = anchor.owner === '.' ? '.' : `${anchor.owner}.`;
  if (anchor.kind === 'DS') {
    return `${owner} IN DS ${anchor.keyTag} ${anchor.algorithm} ${anchor.digestType} ${anchor.digest.toString('hex').toUpperCase()}`;
  }
  const r = anchor.rdata;
  return `${owner} IN DNSKEY ${r.readUInt16BE(0)} ${r[2]} ${r[3]} ${r.subarray(4).toString('base64')}`;
}
