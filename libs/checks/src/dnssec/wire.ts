/**
 * The byte-level vocabulary of DNSSEC validation: names on the wire, the canonical name order
 * (RFC 4034 §6.1), canonical RDATA (§6.2), the signed data of an RRSIG (§3.1.8.1) and parsers for
 * the RDATA of DNSKEY, DS, RRSIG, NSEC and NSEC3 (RFC 4034 §2-5, RFC 5155 §3). Everything here
 * works on the exact RDATA the DNS client hands over (`WireRecord.rdata`), never on a re-encoding.
 */

/** RFC 1035 §2.3.4: a name is at most 255 octets on the wire. */
const MAX_NAME_OCTETS = 255;

/** Type codes the validator itself needs. */
export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DNAME: 39,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  TLSA: 52,
} as const;

const NAMES_BY_CODE = new Map<number, string>(Object.entries(TYPE).map(([name, code]) => [code, name]));

export function typeMnemonic(code: number): string {
  return NAMES_BY_CODE.get(code) ?? `TYPE${code}`;
}

export function typeCodeOf(mnemonic: string): number | null {
  const code = (TYPE as Record<string, number>)[mnemonic.toUpperCase()];
  if (code !== undefined) return code;
  const generic = /^TYPE(\d{1,5})$/i.exec(mnemonic);
  return generic ? Number(generic[1]) : null;
}

/** Lower-case, no trailing dot; the root is '.' as `WireRecord` spells it. */
export function normaliseName(name: string): string {
  const trimmed = name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name;
  return trimmed === '' ? '.' : trimmed.toLowerCase();
}

export function labelsOf(name: string): string[] {
  return name === '.' || name === '' ? [] : name.split('.');
}

/** The RRSIG Labels value of an owner: labels without the root and without a leading `*` (RFC 4034 §3.1.3). */
export function rrsigLabelCount(name: string): number {
  const labels = labelsOf(name);
  return labels[0] === '*' ? labels.length - 1 : labels.length;
}

export function parentName(name: string): string | null {
  if (name === '.') return null;
  const dot = name.indexOf('.');
  return dot === -1 ? '.' : name.slice(dot + 1);
}

/** True when `name` equals `ancestor` or lies below it. */
export function isAtOrBelow(name: string, ancestor: string): boolean {
  return ancestor === '.' || name === ancestor || name.endsWith(`.${ancestor}`);
}

/** The rightmost `count` labels of a name. */
export function suffixOf(name: string, count: number): string {
  const labels = labelsOf(name);
  return count <= 0 ? '.' : labels.slice(labels.length - count).join('.');
}

/** Canonical wire form of a name: lower-case labels, uncompressed (RFC 4034 §6.2 item 2-3). */
export function nameToWire(name: string): Buffer {
  const labels = labelsOf(normaliseName(name));
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/**
 * Reads an uncompressed name from RDATA (DNSSEC types never compress, RFC 4034 §3.1.7, §4.1.1).
 * Returns the lower-case name and the offset after it, or null when malformed.
 */
export function readName(data: Uint8Array, offset: number): { name: string; end: number } | null {
  const labels: string[] = [];
  let o = offset;
  let octets = 1;
  for (;;) {
    const len = data[o];
    if (len === undefined) return null;
    if (len === 0) return { name: labels.length === 0 ? '.' : labels.join('.').toLowerCase(), end: o + 1 };
    if (len > 63) return null;
    octets += len + 1;
    if (octets > MAX_NAME_OCTETS || o + 1 + len > data.length) return null;
    labels.push(Buffer.from(data.subarray(o + 1, o + 1 + len)).toString('latin1'));
    o += len + 1;
  }
}

/** Lower-cases ASCII letters of the name starting at `offset` in place; returns the end offset. */
function lowerNameAt(data: Buffer, offset: number): number {
  let o = offset;
  for (;;) {
    const len = data[o];
    if (len === undefined || len > 63) return -1;
    if (len === 0) return o + 1;
    for (let i = o + 1; i <= o + len && i < data.length; i++) {
      const c = data[i] as number;
      if (c >= 0x41 && c <= 0x5a) data[i] = c + 0x20;
    }
    o += len + 1;
  }
}

/**
 * Where the domain names sit in the RDATA of the types RFC 4034 §6.2 item 3 lists (as corrected
 * by RFC 6840 §5.1, which drops NSEC and RRSIG): `[offset of the first name, names in a row]`.
 */
const NAME_LAYOUT: Record<number, [number, number]> = {
  2: [0, 1], // NS
  3: [0, 1], // MD
  4: [0, 1], // MF
  5: [0, 1], // CNAME
  6: [0, 2], // SOA
  7: [0, 1], // MB
  8: [0, 1], // MG
  9: [0, 1], // MR
  12: [0, 1], // PTR
  14: [0, 2], // MINFO
  15: [2, 1], // MX
  17: [0, 2], // RP
  18: [2, 1], // AFSDB
  21: [2, 1], // RT
  26: [2, 2], // PX
  33: [6, 1], // SRV
  36: [2, 1], // KX
  39: [0, 1], // DNAME
};

/** RDATA in canonical form (RFC 4034 §6.2): embedded names of the listed types lower-cased. */
export function canonicalRdata(typeCode: number, rdata: Uint8Array): Buffer {
  const layout = NAME_LAYOUT[typeCode];
  const out = Buffer.from(rdata);
  if (!layout) return out;
  let o = layout[0];
  for (let i = 0; i < layout[1] && o >= 0 && o < out.length; i++) o = lowerNameAt(out, o);
  return out;
}

/**
 * RFC 4034 §6.1: names compare label by label from the root, each label as a lower-case octet
 * string, a missing label sorting first.
 */
export function compareNames(a: string, b: string): number {
  const la = labelsOf(a);
  const lb = labelsOf(b);
  for (let i = 1; i <= Math.min(la.length, lb.length); i++) {
    const x = Buffer.from((la[la.length - i] as string).toLowerCase(), 'latin1');
    const y = Buffer.from((lb[lb.length - i] as string).toLowerCase(), 'latin1');
    const c = Buffer.compare(x, y);
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

/** RFC 1982 serial arithmetic on 32 bits, as RFC 4034 §3.1.5 asks for signature times. */
export function serialCompare(a: number, b: number): number {
  if (a === b) return 0;
  const diff = ((a >>> 0) - (b >>> 0) + 0x1_0000_0000) % 0x1_0000_0000;
  return diff < 0x8000_0000 ? 1 : -1;
}

export interface ParsedDnskey {
  flags: number;
  protocol: number;
  algorithm: number;
  publicKey: Buffer;
  keyTag: number;
  rdata: Buffer;
}
export interface ParsedDs {
  keyTag: number;
  algorithm: number;
  digestType: number;
  digest: Buffer;
}
export interface ParsedRrsig {
  typeCovered: number;
  algorithm: number;
  labels: number;
  originalTtl: number;
  expiration: number;
  inception: number;
  keyTag: number;
  signerName: string;
  signature: Buffer;
  /** RDATA up to and excluding the signature, signer name in canonical form (RFC 4034 §3.1.8.1). */
  signedPrefix: Buffer;
}
export interface ParsedNsec {
  nextName: string;
  types: Set<number>;
}
export interface ParsedNsec3 {
  hashAlgorithm: number;
  flags: number;
  iterations: number;
  salt: Buffer;
  nextHashed: Buffer;
  types: Set<number>;
}

/** RFC 4034 Appendix B (algorithm 1's different rule is moot: RSA/MD5 is never validated). */
export function keyTagOf(rdata: Uint8Array): number {
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? (rdata[i] as number) : (rdata[i] as number) << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

export function parseDnskey(rdata: Uint8Array): ParsedDnskey | null {
  if (rdata.length < 5) return null;
  const b = Buffer.from(rdata);
  return {
    flags: b.readUInt16BE(0),
    protocol: b[2] as number,
    algorithm: b[3] as number,
    publicKey: b.subarray(4),
    keyTag: keyTagOf(b),
    rdata: b,
  };
}

export function parseDs(rdata: Uint8Array): ParsedDs | null {
  if (rdata.length < 5) return null;
  const b = Buffer.from(rdata);
  return {
    keyTag: b.readUInt16BE(0),
    algorithm: b[2] as number,
    digestType: b[3] as number,
    digest: b.subarray(4),
  };
}

export function parseRrsig(rdata: Uint8Array): ParsedRrsig | null {
  if (rdata.length < 20) return null;
  const b = Buffer.from(rdata);
  const signer = readName(b, 18);
  if (!signer || signer.end >= b.length) return null;
  return {
    typeCovered: b.readUInt16BE(0),
    algorithm: b[2] as number,
    labels: b[3] as number,
    originalTtl: b.readUInt32BE(4),
    expiration: b.readUInt32BE(8),
    inception: b.readUInt32BE(12),
    keyTag: b.readUInt16BE(16),
    signerName: signer.name,
    signature: b.subarray(signer.end),
    signedPrefix: Buffer.concat([b.subarray(0, 18), nameToWire(signer.name)]),
  };
}

/** RFC 4034 §4.1.2: window blocks; null when malformed (§4.1.2 rules, RFC 6840 §6.2 leniency not taken). */
export function parseTypeBitmap(data: Uint8Array): Set<number> | null {
  const types = new Set<number>();
  let o = 0;
  let lastWindow = -1;
  while (o < data.length) {
    const window = data[o] as number;
    const length = data[o + 1];
    if (length === undefined || length < 1 || length > 32 || window <= lastWindow) return null;
    if (o + 2 + length > data.length) return null;
    for (let i = 0; i < length; i++) {
      const byte = data[o + 2 + i] as number;
      for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) types.add(window * 256 + i * 8 + bit);
    }
    lastWindow = window;
    o += 2 + length;
  }
  return types;
}

export function parseNsec(rdata: Uint8Array): ParsedNsec | null {
  const next = readName(rdata, 0);
  if (!next) return null;
  const types = parseTypeBitmap(rdata.subarray(next.end));
  return types ? { nextName: next.name, types } : null;
}

export function parseNsec3(rdata: Uint8Array): ParsedNsec3 | null {
  const b = Buffer.from(rdata);
  if (b.length < 5) return null;
  const saltLength = b[4] as number;
  const hashLengthAt = 5 + saltLength;
  const hashLength = b[hashLengthAt];
  if (hashLength === undefined || hashLength === 0 || hashLengthAt + 1 + hashLength > b.length) return null;
  const types = parseTypeBitmap(b.subarray(hashLengthAt + 1 + hashLength));
  if (!types) return null;
  return {
    hashAlgorithm: b[0] as number,
    flags: b[1] as number,
    iterations: b.readUInt16BE(2),
    salt: b.subarray(5, 5 + saltLength),
    nextHashed: b.subarray(hashLengthAt + 1, hashLengthAt + 1 + hashLength),
    types,
  };
}

/** One RR of an RRset as the signature covers it. */
export interface SignedRr {
  typeCode: number;
  rdata: Uint8Array;
}

/**
 * The data an RRSIG signs (RFC 4034 §3.1.8.1): its own RDATA without the signature, then every RR
 * of the RRset in canonical form and order (§6.3, duplicates removed), each with the owner (the
 * wildcard owner when the RRSIG Labels field is smaller than the owner's, RFC 4035 §5.3.2), the
 * class IN and the Original TTL.
 */
export function signedData(sig: ParsedRrsig, owner: string, rrs: readonly SignedRr[]): Buffer {
  const ownerLabels = labelsOf(owner);
  const signedOwner =
    sig.labels < rrsigLabelCount(owner)
      ? `*.${ownerLabels.slice(ownerLabels.length - sig.labels).join('.')}`.replace(/\.$/, '')
      : owner;
  const ownerWire = nameToWire(signedOwner === '*.' ? '*' : signedOwner);
  const rdatas = rrs.map((rr) => canonicalRdata(rr.typeCode, rr.rdata)).sort(Buffer.compare);
  const parts: Buffer[] = [sig.signedPrefix];
  let previous: Buffer | null = null;
  for (const rdata of rdatas) {
    if (previous?.equals(rdata)) continue;
    previous = rdata;
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(sig.typeCovered, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(sig.originalTtl >>> 0, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    parts.push(ownerWire, fixed, rdata);
  }
  return Buffer.concat(parts);
}

/** RFC 4648 §7 base32hex, lower-case, no padding, as NSEC3 owner labels are written (RFC 5155 §3.3). */
export function base32hex(bytes: Uint8Array): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

export function fromBase32hex(text: string): Buffer | null {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.toLowerCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) return null;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
