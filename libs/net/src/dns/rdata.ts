/**
 * RDATA to the `RecordData` shapes of @mailwarden/core. Each decoder must consume exactly
 * RDLENGTH bytes; anything else is a malformed record and throws (the caller turns it into
 * `unknown('malformed')`).
 */
import { isUtf8 } from 'node:buffer';
import type {
  DnskeyFields,
  DsFields,
  Nsec3Fields,
  NsecFields,
  RecordData,
  RecordType,
  RrsigFields,
  WireRecord,
} from '@mailwarden/core';
import { normaliseWireName } from './names.ts';
import { packet, TYPE_CODES, typeName, type WireRr } from './wire.ts';

function fail(what: string): never {
  throw new Error(`malformed ${what} RDATA`);
}

/** A name inside RDATA (compression allowed) that must end exactly at `end`. */
function nameAt(buf: Buffer, offset: number, end: number, what: string): string {
  const name = packet.name.decode(buf, offset);
  if (offset + packet.name.decode.bytes !== end) fail(what);
  return normaliseWireName(name);
}

/** A name inside RDATA that is followed by more fields; returns where it ends. */
function nameThen(buf: Buffer, offset: number, limit: number, what: string): { name: string; end: number } {
  const name = packet.name.decode(buf, offset);
  const end = offset + packet.name.decode.bytes;
  if (end > limit) fail(what);
  return { name: normaliseWireName(name), end };
}

/**
 * TXT character-strings are bytes (RFC 1035 §3.3.14). Valid UTF-8 is decoded as UTF-8, so
 * evidence shows what an admin typed (pure ASCII, the normal case, reads the same either way);
 * anything else is decoded as latin1, one character per byte, so no byte is lost or replaced and
 * `Buffer.from(s, 'latin1')` gives the wire bytes back.
 */
export function decodeTxtString(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}

export function txtStrings(rdata: Buffer): string[] {
  const out: string[] = [];
  for (let o = 0; o < rdata.length; ) {
    const len = rdata[o] as number;
    if (o + 1 + len > rdata.length) fail('TXT');
    out.push(decodeTxtString(rdata.subarray(o + 1, o + 1 + len)));
    o += 1 + len;
  }
  return out;
}

/** RFC 4034 §4.1.2 type bit maps. */
function typeBitmap(bytes: Buffer, what: string): string[] {
  const types: string[] = [];
  for (let o = 0; o < bytes.length; ) {
    const window = bytes[o] as number;
    const length = bytes[o + 1];
    if (length === undefined || length < 1 || length > 32 || o + 2 + length > bytes.length) fail(what);
    for (let i = 0; i < length; i++) {
      const bits = bytes[o + 2 + i] as number;
      for (let b = 0; b < 8; b++) if (bits & (0x80 >> b)) types.push(typeName((window << 8) | (i << 3) | b));
    }
    o += 2 + length;
  }
  return types;
}

/** RFC 4034 Appendix B (algorithm 1 has its own rule, B.1). */
export function keyTag(rdata: Uint8Array): number {
  if (rdata[3] === 1) {
    return rdata.length >= 4 ? ((rdata[rdata.length - 3] ?? 0) << 8) | (rdata[rdata.length - 2] ?? 0) : 0;
  }
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? (rdata[i] as number) : (rdata[i] as number) << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // RFC 5952 §4.2: the longest run (>= 2) of zero groups becomes '::', the first on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best === -1) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

type Decoder<T extends RecordType> = (buf: Buffer, rr: WireRr) => RecordData[T];

const decoders: { [T in RecordType]: Decoder<T> } = {
  A(buf, rr) {
    if (rr.rdLength !== 4) fail('A');
    const o = rr.rdOffset;
    return `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
  },
  AAAA(buf, rr) {
    if (rr.rdLength !== 16) fail('AAAA');
    return ipv6(buf.subarray(rr.rdOffset, rr.rdOffset + 16));
  },
  MX(buf, rr) {
    if (rr.rdLength < 3) fail('MX');
    const end = rr.rdOffset + rr.rdLength;
    return { preference: buf.readUInt16BE(rr.rdOffset), exchange: nameAt(buf, rr.rdOffset + 2, end, 'MX') };
  },
  TXT: (buf, rr) => txtStrings(buf.subarray(rr.rdOffset, rr.rdOffset + rr.rdLength)),
  CNAME: (buf, rr) => nameAt(buf, rr.rdOffset, rr.rdOffset + rr.rdLength, 'CNAME'),
  NS: (buf, rr) => nameAt(buf, rr.rdOffset, rr.rdOffset + rr.rdLength, 'NS'),
  PTR: (buf, rr) => nameAt(buf, rr.rdOffset, rr.rdOffset + rr.rdLength, 'PTR'),
  SOA(buf, rr) {
    const end = rr.rdOffset + rr.rdLength;
    const m = nameThen(buf, rr.rdOffset, end, 'SOA');
    const r = nameThen(buf, m.end, end, 'SOA');
    if (r.end + 20 !== end) fail('SOA');
    const at = (i: number) => buf.readUInt32BE(r.end + i * 4);
    return {
      mname: m.name,
      rname: r.name,
      serial: at(0),
      refresh: at(1),
      retry: at(2),
      expire: at(3),
      minimum: at(4),
    };
  },
  TLSA(buf, rr) {
    if (rr.rdLength < 3) fail('TLSA');
    const o = rr.rdOffset;
    return {
      usage: buf[o] as number,
      selector: buf[o + 1] as number,
      matchingType: buf[o + 2] as number,
      data: buf.toString('hex', o + 3, o + rr.rdLength),
    };
  },
  CAA(buf, rr) {
    // RFC 8659 §4.1: flags, tag length (1-15... not enforced here), tag, value to the end.
    const o = rr.rdOffset;
    const tagLength = buf[o + 1];
    if (rr.rdLength < 2 || tagLength === undefined || 2 + tagLength > rr.rdLength) fail('CAA');
    return {
      flags: buf[o] as number,
      tag: buf.toString('latin1', o + 2, o + 2 + tagLength),
      value: decodeTxtString(buf.subarray(o + 2 + tagLength, o + rr.rdLength)),
    };
  },
  DNSKEY(buf, rr): DnskeyFields {
    const rdata = rawRdata(buf, rr);
    if (rdata.length < 4) fail('DNSKEY');
    return {
      rdata,
      flags: (rdata[0] as number) * 256 + (rdata[1] as number),
      protocol: rdata[2] as number,
      algorithm: rdata[3] as number,
      publicKey: rdata.subarray(4),
      keyTag: keyTag(rdata),
    };
  },
  DS(buf, rr): DsFields {
    const rdata = rawRdata(buf, rr);
    if (rdata.length < 4) fail('DS');
    return {
      rdata,
      keyTag: (rdata[0] as number) * 256 + (rdata[1] as number),
      algorithm: rdata[2] as number,
      digestType: rdata[3] as number,
      digest: Buffer.from(rdata.subarray(4)).toString('hex'),
    };
  },
  RRSIG(buf, rr): RrsigFields {
    const rdata = Buffer.from(rawRdata(buf, rr));
    if (rdata.length < 19) fail('RRSIG');
    // RFC 4034 §3.1.7: the signer's name is never compressed, so it is read from the RDATA alone.
    const signer = nameThen(rdata, 18, rdata.length, 'RRSIG');
    return {
      rdata: new Uint8Array(rdata),
      typeCovered: typeName(rdata.readUInt16BE(0)),
      algorithm: rdata[2] as number,
      labels: rdata[3] as number,
      originalTtl: rdata.readUInt32BE(4),
      expiration: rdata.readUInt32BE(8),
      inception: rdata.readUInt32BE(12),
      keyTag: rdata.readUInt16BE(16),
      signerName: signer.name,
      signature: new Uint8Array(rdata.subarray(signer.end)),
    };
  },
  NSEC(buf, rr): NsecFields {
    const rdata = Buffer.from(rawRdata(buf, rr));
    const next = nameThen(rdata, 0, rdata.length, 'NSEC');
    return {
      rdata: new Uint8Array(rdata),
      nextName: next.name,
      types: typeBitmap(rdata.subarray(next.end), 'NSEC'),
    };
  },
  NSEC3(buf, rr): Nsec3Fields {
    const rdata = Buffer.from(rawRdata(buf, rr));
    const saltLength = rdata[4];
    if (saltLength === undefined || 6 + saltLength > rdata.length) fail('NSEC3');
    const hashLength = rdata[5 + saltLength] as number;
    const hashEnd = 6 + saltLength + hashLength;
    if (hashEnd > rdata.length) fail('NSEC3');
    return {
      rdata: new Uint8Array(rdata),
      hashAlgorithm: rdata[0] as number,
      flags: rdata[1] as number,
      iterations: rdata.readUInt16BE(2),
      salt: new Uint8Array(rdata.subarray(5, 5 + saltLength)),
      nextHashedOwner: new Uint8Array(rdata.subarray(6 + saltLength, hashEnd)),
      types: typeBitmap(rdata.subarray(hashEnd), 'NSEC3'),
    };
  },
};

/** A copy, so results never pin the whole response buffer in memory. */
function rawRdata(buf: Buffer, rr: WireRr): Uint8Array {
  return new Uint8Array(buf.subarray(rr.rdOffset, rr.rdOffset + rr.rdLength));
}

export function decodeRecord<T extends RecordType>(buf: Buffer, rr: WireRr, type: T): RecordData[T] {
  return (decoders[type] as Decoder<T>)(buf, rr);
}

/** Types whose RDATA names senders may compress (RFC 3597 §4 lists the RFC 1035 ones). */
const COMPRESSIBLE = new Set<number>([
  TYPE_CODES.NS,
  TYPE_CODES.CNAME,
  TYPE_CODES.PTR,
  TYPE_CODES.MX,
  TYPE_CODES.SOA,
]);

/**
 * Appends the name at `offset` to `out` written out in full: its labels as they are on the wire
 * (case kept), compression pointers followed. Returns where the name ends in `buf`. A name over
 * 255 bytes, a pointer that does not point backwards (RFC 1035 §4.1.4) or an extended label type
 * is malformed, so a pointer loop cannot spin.
 */
function appendUncompressedName(buf: Buffer, offset: number, out: number[], what: string): number {
  let at = offset;
  let end = -1;
  let length = 0;
  for (;;) {
    if (at >= buf.length) fail(what);
    const len = buf[at] as number;
    if (len === 0) {
      out.push(0);
      return end < 0 ? at + 1 : end;
    }
    if (len >= 0xc0) {
      if (at + 1 >= buf.length) fail(what);
      const target = ((len & 0x3f) << 8) | (buf[at + 1] as number);
      if (target >= at) fail(what);
      if (end < 0) end = at + 2;
      at = target;
      continue;
    }
    if (len > 63) fail(what);
    length += 1 + len;
    if (length + 1 > 255 || at + 1 + len > buf.length) fail(what);
    for (let i = at; i <= at + len; i++) out.push(buf[i] as number);
    at += 1 + len;
  }
}

/** RDATA of a compressible type with its names written out in full (RFC 4034 §6.2 signs them so). */
function uncompressedRdata(buf: Buffer, rr: WireRr): Uint8Array {
  const type = typeName(rr.type);
  const start = rr.rdOffset;
  const end = rr.rdOffset + rr.rdLength;
  const out: number[] = [];
  let at = start;
  if (rr.type === TYPE_CODES.MX) {
    if (end - start < 3) fail(type);
    out.push(buf[at] as number, buf[at + 1] as number);
    at += 2;
  }
  at = appendUncompressedName(buf, at, out, type);
  if (rr.type === TYPE_CODES.SOA) {
    at = appendUncompressedName(buf, at, out, type);
    // SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM.
    if (end - at !== 20) fail(type);
    for (let i = at; i < end; i++) out.push(buf[i] as number);
    at = end;
  }
  if (at !== end) fail(type);
  return Uint8Array.from(out);
}

/**
 * The answer and authority records of a response as a validator needs them: names in compressible
 * RDATA written out in full, every other RDATA a view of one copy of the message (one allocation
 * per response, not one per record; the copy holds only this message, never a larger read buffer).
 */
export function wireSections(
  buf: Buffer,
  answer: readonly WireRr[],
  authority: readonly WireRr[],
): { answer: WireRecord[]; authority: WireRecord[] } {
  const copy = Buffer.from(buf);
  const records = (rrs: readonly WireRr[]): WireRecord[] =>
    rrs.map((rr) => ({
      name: rr.name,
      type: typeName(rr.type),
      typeCode: rr.type,
      ttl: rr.ttl,
      rdata: COMPRESSIBLE.has(rr.type)
        ? uncompressedRdata(buf, rr)
        : new Uint8Array(copy.buffer, copy.byteOffset + rr.rdOffset, rr.rdLength),
    }));
  return { answer: records(answer), authority: records(authority) };
}
