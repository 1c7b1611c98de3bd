/**
 * The server's side of the wire: read a query (header, one question, an optional OPT RR) by hand,
 * because it is the hot path of the benchmark, and write responses from pre-encoded RRs.
 */

export interface ParsedQuery {
  id: number;
  /** Header flags word as received (RFC 1035 §4.1.1). */
  flags: number;
  opcode: number;
  /** Lower-case, no trailing dot; '' for the root. */
  name: string;
  type: number;
  qclass: number;
  /** The question section bytes exactly as sent, echoed back (case and all). */
  question: Buffer;
  edns: { udpPayloadSize: number; version: number; dnssecOk: boolean } | null;
}

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;
const OPT = 41;

/** null: not worth answering at all (too short, or itself a response). */
export function parseQuery(msg: Buffer): ParsedQuery | 'formerr' | null {
  if (msg.length < 12) return null;
  const flags = msg.readUInt16BE(2);
  if (flags & FLAG_QR) return null;
  if (msg.readUInt16BE(4) !== 1) return 'formerr';
  let o = 12;
  const labels: string[] = [];
  for (;;) {
    const len = msg[o];
    if (len === undefined || len > 63) return 'formerr'; // queries carry no compression pointers
    o++;
    if (len === 0) break;
    if (o + len > msg.length) return 'formerr';
    labels.push(msg.toString('latin1', o, o + len).toLowerCase());
    o += len;
  }
  if (o + 4 > msg.length) return 'formerr';
  const type = msg.readUInt16BE(o);
  const qclass = msg.readUInt16BE(o + 2);
  o += 4;
  const question = msg.subarray(12, o);
  let edns: ParsedQuery['edns'] = null;
  // RFC 6891 §6.1.1: the OPT pseudo-RR sits in the additional section, owner root.
  const arcount = msg.readUInt16BE(10);
  if (arcount > 0 && msg.readUInt16BE(6) === 0 && msg.readUInt16BE(8) === 0 && o + 11 <= msg.length) {
    if (msg[o] === 0 && msg.readUInt16BE(o + 1) === OPT) {
      edns = {
        udpPayloadSize: msg.readUInt16BE(o + 3),
        version: msg[o + 6] ?? 0,
        dnssecOk: (msg.readUInt16BE(o + 7) & 0x8000) !== 0,
      };
    }
  }
  return {
    id: msg.readUInt16BE(0),
    flags,
    opcode: (flags >> 11) & 0xf,
    name: labels.join('.'),
    type,
    qclass,
    question,
    edns,
  };
}

export interface ResponseParts {
  id: number;
  flags: number;
  question: Buffer | null;
  answer: Buffer[];
  authority: Buffer[];
  /** OPT RR to append, if the query had one. */
  opt: Buffer | null;
}

export function buildOpt(udpPayloadSize: number, extendedRcode: number, dnssecOk: boolean): Buffer {
  const out = Buffer.alloc(11);
  out.writeUInt16BE(OPT, 1);
  out.writeUInt16BE(udpPayloadSize, 3);
  out[5] = extendedRcode;
  out.writeUInt16BE(dnssecOk ? 0x8000 : 0, 7);
  return out;
}

export function responseLength(parts: ResponseParts): number {
  let n = 12 + (parts.question?.length ?? 0) + (parts.opt?.length ?? 0);
  for (const b of parts.answer) n += b.length;
  for (const b of parts.authority) n += b.length;
  return n;
}

export function writeResponse(parts: ResponseParts, prefixLength = false): Buffer {
  const length = responseLength(parts);
  const base = prefixLength ? 2 : 0;
  const out = Buffer.allocUnsafe(base + length);
  if (prefixLength) out.writeUInt16BE(length, 0);
  out.writeUInt16BE(parts.id, base);
  out.writeUInt16BE(parts.flags, base + 2);
  out.writeUInt16BE(parts.question ? 1 : 0, base + 4);
  out.writeUInt16BE(parts.answer.length, base + 6);
  out.writeUInt16BE(parts.authority.length, base + 8);
  out.writeUInt16BE(parts.opt ? 1 : 0, base + 10);
  let o = base + 12;
  if (parts.question) o += parts.question.copy(out, o);
  for (const b of parts.answer) o += b.copy(out, o);
  for (const b of parts.authority) o += b.copy(out, o);
  if (parts.opt) parts.opt.copy(out, o);
  return out;
}
