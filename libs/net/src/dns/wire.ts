/**
 * Messages on the wire. Queries are encoded with dns-packet. Responses are walked here, RR by
 * RR, with every length checked against the buffer before anything is decoded, because
 * dns-packet's own `decode` trusts RDLENGTH and section counts. Names go through dns-packet's
 * name decoder, which only follows pointers to strictly earlier offsets (RFC 1035 §4.1.4), so
 * a pointer loop cannot spin: it throws, and we turn that into `malformed`.
 */
import dnsPacket from 'dns-packet';
import { normaliseWireName } from './names.ts';

/** The parts of dns-packet its type declarations leave out. */
interface Codec<T> {
  decode(buf: Buffer, offset?: number): T;
  encode(value: T, buf?: Buffer, offset?: number): Buffer;
  encodingLength(value: T): number;
}
type Decoded<T> = ((buf: Buffer, offset?: number) => T) & { bytes: number };
interface PacketInternals {
  name: Codec<string> & { decode: Decoded<string> };
  mx: { decode: Decoded<{ preference: number; exchange: string }> };
  soa: Codec<SoaWire> & { decode: Decoded<SoaWire> };
  record(type: string): { encode(data: unknown, buf?: Buffer, offset?: number): Buffer };
}
export interface SoaWire {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}
export const packet = dnsPacket as unknown as PacketInternals & typeof dnsPacket;

export const TYPE_CODES = {
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
} as const;
const OPT = 41;
const TYPE_NAMES = new Map<number, string>([
  ...Object.entries(TYPE_CODES).map(([name, code]) => [code, name] as [number, string]),
  [OPT, 'OPT'],
  [39, 'DNAME'],
  [51, 'NSEC3PARAM'],
  [33, 'SRV'],
]);

/** RFC 3597 §5: a type without a mnemonic is written TYPE<n>. */
export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}

export const FLAG_QR = 0x8000;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;
const CLASS_IN = 1;

export interface QueryFlags {
  dnssecOk: boolean;
  checkingDisabled: boolean;
  udpPayloadSize: number;
}

/**
 * RD set (we ask a recursive resolver); EDNS0 OPT (RFC 6891 §6) advertising our payload size,
 * DO (RFC 3225 §3) and CD (RFC 4035 §3.2.2) as the caller asked.
 *
 * Written by hand because it runs once per query; a unit test holds it byte-equal to dns-packet's
 * encoding of the same message. `name` must be normalised ASCII (see names.ts).
 */
export function encodeQuery(
  id: number,
  name: string,
  qtype: number,
  flags: QueryFlags,
  framed = false,
): Buffer {
  const root = name === '.';
  const nameLength = root ? 1 : name.length + 2;
  const length = 12 + nameLength + 4 + 11;
  // `framed`: prefixed with the two-byte length TCP needs (RFC 1035 §4.2.2), saving a copy.
  const base = framed ? 2 : 0;
  const out = Buffer.allocUnsafe(base + length);
  if (framed) out.writeUInt16BE(length, 0);
  out.writeUInt16BE(id, base);
  out.writeUInt16BE(FLAG_RD | (flags.checkingDisabled ? FLAG_CD : 0), base + 2);
  out.writeUInt32BE(0x00010000, base + 4); // QDCOUNT 1, ANCOUNT 0
  out.writeUInt32BE(0x00000001, base + 8); // NSCOUNT 0, ARCOUNT 1
  let o = base + 12;
  if (!root) {
    let lengthAt = o++;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c === 46) {
        out[lengthAt] = o - lengthAt - 1;
        lengthAt = o++;
      } else {
        out[o++] = c;
      }
    }
    out[lengthAt] = o - lengthAt - 1;
  }
  out[o++] = 0;
  out.writeUInt16BE(qtype, o);
  out.writeUInt16BE(CLASS_IN, o + 2);
  o += 4;
  // OPT: root owner, TYPE 41, CLASS = payload size, TTL = ext-RCODE 0, version 0, DO flag, RDLEN 0.
  out[o] = 0;
  out.writeUInt16BE(OPT, o + 1);
  out.writeUInt16BE(flags.udpPayloadSize, o + 3);
  out.writeUInt16BE(0, o + 5);
  out.writeUInt16BE(flags.dnssecOk ? packet.DNSSEC_OK : 0, o + 7);
  out.writeUInt16BE(0, o + 9);
  return out;
}

/** Where one RR sits in the message; RDATA is decoded only for the records a result needs. */
export interface WireRr {
  name: string;
  type: number;
  klass: number;
  ttl: number;
  rdOffset: number;
  rdLength: number;
}

export interface ParsedMessage {
  buf: Buffer;
  id: number;
  flags: number;
  /** Header RCODE combined with the OPT extended RCODE (RFC 6891 §6.1.3). */
  rcode: number;
  answer: WireRr[];
  authority: WireRr[];
}

export interface ParseLimits {
  maxAnswerRecords: number;
}

export type ParseOutcome =
  | { kind: 'ok'; message: ParsedMessage }
  /** Not a response to this query: ignore it and keep waiting (RFC 5452 §9.1). */
  | { kind: 'mismatch'; detail: string }
  | { kind: 'malformed'; detail: string }
  | { kind: 'too_large'; detail: string };

function readName(buf: Buffer, offset: number): { name: string; end: number } {
  const name = packet.name.decode(buf, offset);
  return { name: normaliseWireName(name), end: offset + packet.name.decode.bytes };
}

/**
 * Where the question name ends (just past its root label) when the message's question is
 * `qname` written out in plain labels — the usual case, checked here without decoding; -1 when
 * it is another name; null when only a full decode can tell (compression pointers).
 * A '.' byte inside a label never matches: "a.b" as one label is not the name a.b.
 */
function plainQuestionEnd(buf: Buffer, qname: string): number | -1 | null {
  let o = 12;
  let i = 0;
  for (;;) {
    const len = buf[o];
    if (len === undefined || len > 63) return null;
    if (len === 0) break;
    if (o + 1 + len > buf.length) return null;
    if (i > 0) {
      if (qname.charCodeAt(i) !== 46) return -1;
      i++;
    }
    for (let k = 0; k < len; k++) {
      const c = buf[o + 1 + k] as number;
      if (c === 46 || (c >= 65 && c <= 90 ? c + 32 : c) !== qname.charCodeAt(i + k)) return -1;
    }
    i += len;
    o += 1 + len;
  }
  const expected = qname === '.' ? 0 : qname.length;
  return i === expected ? o + 1 : -1;
}

/** Case-insensitive equality of two byte ranges of one buffer (ASCII folding, RFC 4343). */
function sameBytesFolded(buf: Buffer, a: number, b: number, length: number): boolean {
  if (b + length > buf.length) return false;
  for (let k = 0; k < length; k++) {
    const x = buf[a + k] as number;
    const y = buf[b + k] as number;
    if (x !== y && (x | 0x20) !== (y | 0x20)) return false;
    if (x !== y && !((x | 0x20) >= 97 && (x | 0x20) <= 122)) return false;
  }
  return true;
}

/**
 * An owner name, with the two shapes answers almost always take recognised without decoding:
 * a pointer to the question name (RFC 1035 §4.1.4), or the question name written out again.
 */
function readOwner(buf: Buffer, offset: number, q: QuestionSpan | null): { name: string; end: number } {
  if (q) {
    if (buf[offset] === 0xc0 && buf[offset + 1] === 12) return { name: q.name, end: offset + 2 };
    if (buf[offset] === buf[12] && sameBytesFolded(buf, 12, offset, q.end - 12)) {
      return { name: q.name, end: offset + q.end - 12 };
    }
  }
  return readName(buf, offset);
}

/** The question name as plain labels at offset 12, ending at `end`. */
interface QuestionSpan {
  name: string;
  end: number;
}

function readRr(buf: Buffer, offset: number, q: QuestionSpan | null): { rr: WireRr; end: number } {
  const { name, end } = readOwner(buf, offset, q);
  if (end + 10 > buf.length) throw new Error('record header past the end of the message');
  const rdLength = buf.readUInt16BE(end + 8);
  const rdOffset = end + 10;
  if (rdOffset + rdLength > buf.length) throw new Error('RDATA past the end of the message');
  const rawTtl = buf.readUInt32BE(end + 4);
  return {
    rr: {
      name,
      type: buf.readUInt16BE(end),
      klass: buf.readUInt16BE(end + 2),
      // RFC 2181 §8: a TTL with the top bit set is treated as zero.
      ttl: rawTtl > 0x7fffffff ? 0 : rawTtl,
      rdOffset,
      rdLength,
    },
    end: rdOffset + rdLength,
  };
}

/**
 * Check that `buf` answers our question (id, QR, opcode, the same single question), then walk
 * its sections. The id is checked by the caller before this runs.
 */
export function parseResponse(buf: Buffer, qname: string, qtype: number, limits: ParseLimits): ParseOutcome {
  if (buf.length < 12) return { kind: 'malformed', detail: 'shorter than a header' };
  const flags = buf.readUInt16BE(2);
  if ((flags & FLAG_QR) === 0 || ((flags >> 11) & 0xf) !== 0)
    return { kind: 'mismatch', detail: 'not a response' };
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  let offset = 12;
  if (qdcount === 0 && (flags & 0xf) !== 0 && ancount + nscount === 0) {
    // Some servers omit the question in error responses (FORMERR, NOTIMP). Accepting one on the
    // id alone can only ever produce `unknown`, never data, so it gives a spoofer nothing.
    return {
      kind: 'ok',
      message: { buf, id: buf.readUInt16BE(0), flags, rcode: flags & 0xf, answer: [], authority: [] },
    };
  }
  if (qdcount !== 1) return { kind: 'mismatch', detail: `question count ${qdcount}` };
  let span: QuestionSpan | null = null;
  try {
    const plainEnd = plainQuestionEnd(buf, qname);
    if (plainEnd === -1) return { kind: 'mismatch', detail: 'a different question' };
    let nameEnd: number;
    if (plainEnd === null) {
      const q = readName(buf, offset);
      if (q.name !== qname) return { kind: 'mismatch', detail: `question is ${q.name}` };
      nameEnd = q.end;
    } else {
      nameEnd = plainEnd;
      span = { name: qname, end: plainEnd };
    }
    if (nameEnd + 4 > buf.length) return { kind: 'mismatch', detail: 'question cut short' };
    if (buf.readUInt16BE(nameEnd) !== qtype || buf.readUInt16BE(nameEnd + 2) !== CLASS_IN) {
      return { kind: 'mismatch', detail: `question type ${buf.readUInt16BE(nameEnd)}` };
    }
    offset = nameEnd + 4;
  } catch (err) {
    return { kind: 'mismatch', detail: `question unreadable: ${(err as Error).message}` };
  }
  if (ancount > limits.maxAnswerRecords) {
    return { kind: 'too_large', detail: `${ancount} answer records (cap ${limits.maxAnswerRecords})` };
  }
  try {
    const answer: WireRr[] = [];
    const authority: WireRr[] = [];
    for (let i = 0; i < ancount; i++) {
      const { rr, end } = readRr(buf, offset, span);
      answer.push(rr);
      offset = end;
    }
    for (let i = 0; i < nscount; i++) {
      const { rr, end } = readRr(buf, offset, span);
      authority.push(rr);
      offset = end;
    }
    let rcode = flags & 0xf;
    for (let i = 0; i < arcount; i++) {
      const { rr, end } = readRr(buf, offset, span);
      // OPT: class = payload size, TTL = extended RCODE | version | flags (RFC 6891 §6.1.3).
      if (rr.type === OPT) rcode |= (buf.readUInt8(rr.rdOffset - 6) << 4) & 0xff0;
      offset = end;
    }
    return { kind: 'ok', message: { buf, id: buf.readUInt16BE(0), flags, rcode, answer, authority } };
  } catch (err) {
    return { kind: 'malformed', detail: (err as Error).message };
  }
}
