/**
 * Fixture records to wire bytes. The server writes names uncompressed (allowed: compression is
 * optional for senders, RFC 1035 §4.1.4) so every RR can be encoded once and copied into any
 * response.
 */
import type { RecordType } from '@mailwarden/core';
import type { FixtureData, FixtureValue, RawRdata } from './fixtures.ts';

/** IANA type codes of the types fixtures can hold, plus the ones queries may carry. */
export const TYPE_CODES: Record<string, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  TLSA: 52,
  CAA: 257,
  OPT: 41,
  ANY: 255,
};
const TYPE_NAMES = new Map(Object.entries(TYPE_CODES).map(([name, code]) => [code, name]));

export function typeCode(type: string): number {
  const code = TYPE_CODES[type.toUpperCase()];
  if (code !== undefined) return code;
  const generic = /^TYPE(\d{1,5})$/i.exec(type);
  if (generic) return Number(generic[1]);
  throw new Error(`unknown record type ${type}`);
}

/** RFC 3597 §5: types without a mnemonic are written TYPE<n>. */
export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}

/** Lower-case, no trailing dot; the root is ''. */
export function canonicalName(name: string): string {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  return trimmed.toLowerCase();
}

export function encodeName(name: string): Buffer {
  const canonical = name === '.' ? '' : name.endsWith('.') ? name.slice(0, -1) : name;
  if (canonical === '') return Buffer.from([0]);
  const labels = canonical.split('.');
  const parts: Buffer[] = [];
  let total = 1;
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    // RFC 1035 §2.3.4: labels 1-63 octets, names at most 255 octets on the wire.
    if (bytes.length === 0 || bytes.length > 63) throw new Error(`bad label in fixture name ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
    total += bytes.length + 1;
  }
  if (total > 255) throw new Error(`fixture name too long: ${name}`);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function u8(value: number): Buffer {
  return Buffer.from([value & 0xff]);
}
function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value & 0xffff);
  return b;
}
function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}
function bytesOf(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'hex') : Buffer.from(value);
}

function ipv4(address: string): Buffer {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`bad IPv4 fixture ${address}`);
  }
  return Buffer.from(parts);
}

function ipv6(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(fill).fill('0'), ...tailGroups];
  if (groups.length !== 8) throw new Error(`bad IPv6 fixture ${address}`);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

/** RFC 1035 §3.3.14: a TXT string longer than 255 bytes must be split into several. */
function txtStrings(value: FixtureData['TXT']): Buffer[] {
  const raw = typeof value === 'string' ? [Buffer.from(value, 'utf8')] : value.map((s) => Buffer.from(s));
  const out: Buffer[] = [];
  for (const b of raw) {
    if (typeof value !== 'string' && b.length > 255) throw new Error('TXT character-string over 255 bytes');
    if (b.length === 0) out.push(b);
    for (let i = 0; i < b.length; i += 255) out.push(b.subarray(i, i + 255));
  }
  return out;
}

/** RFC 4034 §4.1.2: window blocks of a type bitmap. */
export function encodeTypeBitmap(types: string[]): Buffer {
  const windows = new Map<number, number[]>();
  for (const type of types) {
    const code = typeCode(type);
    const window = code >> 8;
    const bits = windows.get(window) ?? [];
    const low = code & 0xff;
    bits[low >> 3] = (bits[low >> 3] ?? 0) | (0x80 >> (low & 7));
    windows.set(window, bits);
  }
  const parts: Buffer[] = [];
  for (const window of [...windows.keys()].sort((a, b) => a - b)) {
    const bits = windows.get(window) ?? [];
    const bytes = Buffer.from(Array.from(bits, (b) => b ?? 0));
    parts.push(u8(window), u8(bytes.length), bytes);
  }
  return Buffer.concat(parts);
}

function isRaw(value: unknown): value is RawRdata {
  return typeof value === 'object' && value !== null && 'rdata' in value;
}

export function encodeRdata<T extends RecordType>(type: T, value: FixtureValue<T>): Buffer {
  if (isRaw(value)) return Buffer.from(value.rdata);
  const v = value as FixtureData[T];
  switch (type) {
    case 'A':
      return ipv4(v as string);
    case 'AAAA':
      return ipv6(v as string);
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return encodeName(v as string);
    case 'MX': {
      const mx = v as FixtureData['MX'];
      return Buffer.concat([u16(mx.preference), encodeName(mx.exchange)]);
    }
    case 'TXT':
      return Buffer.concat(txtStrings(v as FixtureData['TXT']).flatMap((s) => [u8(s.length), s]));
    case 'SOA': {
      const s = v as FixtureData['SOA'];
      return Buffer.concat([
        encodeName(s.mname),
        encodeName(s.rname),
        ...[s.serial, s.refresh, s.retry, s.expire, s.minimum].map(u32),
      ]);
    }
    case 'TLSA': {
      const t = v as FixtureData['TLSA'];
      return Buffer.concat([u8(t.usage), u8(t.selector), u8(t.matchingType), bytesOf(t.data)]);
    }
    case 'CAA': {
      const c = v as FixtureData['CAA'];
      const tag = Buffer.from(c.tag, 'latin1');
      return Buffer.concat([u8(c.flags), u8(tag.length), tag, Buffer.from(c.value, 'utf8')]);
    }
    case 'DNSKEY': {
      const k = v as FixtureData['DNSKEY'];
      return Buffer.concat([u16(k.flags), u8(k.protocol ?? 3), u8(k.algorithm), Buffer.from(k.publicKey)]);
    }
    case 'DS': {
      const d = v as FixtureData['DS'];
      return Buffer.concat([u16(d.keyTag), u8(d.algorithm), u8(d.digestType), bytesOf(d.digest)]);
    }
    case 'RRSIG': {
      const r = v as FixtureData['RRSIG'];
      return Buffer.concat([
        u16(typeCode(r.typeCovered)),
        u8(r.algorithm),
        u8(r.labels),
        u32(r.originalTtl),
        u32(r.expiration),
        u32(r.inception),
        u16(r.keyTag),
        encodeName(r.signerName),
        Buffer.from(r.signature),
      ]);
    }
    case 'NSEC': {
      const n = v as FixtureData['NSEC'];
      return Buffer.concat([encodeName(n.nextName), encodeTypeBitmap(n.types)]);
    }
    case 'NSEC3': {
      const n = v as FixtureData['NSEC3'];
      return Buffer.concat([
        u8(n.hashAlgorithm),
        u8(n.flags),
        u16(n.iterations),
        u8(n.salt.length),
        Buffer.from(n.salt),
        u8(n.nextHashedOwner.length),
        Buffer.from(n.nextHashedOwner),
        encodeTypeBitmap(n.types),
      ]);
    }
  }
  throw new Error(`cannot encode fixture type ${type}`);
}

/** A whole RR: owner, type, class IN, TTL, RDLENGTH, RDATA (RFC 1035 §4.1.3). */
export function encodeRr(owner: string, code: number, ttl: number, rdata: Uint8Array): Buffer {
  if (rdata.length > 0xffff) throw new Error('RDATA over 65535 bytes');
  const name = encodeName(owner);
  const out = Buffer.allocUnsafe(name.length + 10 + rdata.length);
  name.copy(out, 0);
  const o = name.length;
  out.writeUInt16BE(code, o);
  out.writeUInt16BE(1, o + 2);
  out.writeUInt32BE(ttl >>> 0, o + 4);
  out.writeUInt16BE(rdata.length, o + 8);
  out.set(rdata, o + 10);
  return out;
}
