/**
 * Fault injection: what the server does instead of (or before) answering a query for a given
 * name. Each fault reproduces a failure real resolvers show, so the client's handling of it can
 * be tested end to end.
 */
import { encodeRr, TYPE_CODES } from './rr-wire.ts';
import { FLAG_QR, FLAG_RA, FLAG_RD, type ParsedQuery, writeResponse } from './wire-query.ts';

export type DnsFault = (
  | /** Never answer (a black-holed server or name). */ { kind: 'drop' }
  /** Answer normally, `ms` later. */
  | { kind: 'delay'; ms: number }
  /** Answer with this RCODE and nothing else (SERVFAIL = 2, REFUSED = 5, FORMERR = 1, NOTIMP = 4). */
  | { kind: 'rcode'; rcode: number }
  /**
   * Over UDP: TC=1 and no records (RFC 1035 §4.1.1). Over TCP: `answer` (default) serves the
   * full answer; `truncate` sets TC again; `close` hangs up; `drop` never answers.
   */
  | { kind: 'truncate'; tcp?: 'answer' | 'truncate' | 'close' | 'drop' }
  /** A TXT RRset of `strings` (default 10 000) character-strings of `stringBytes` (default 4). */
  | { kind: 'huge'; strings?: number; stringBytes?: number; records?: number }
  /**
   * Right id and question, broken body: `truncated_rr` (ANCOUNT 1, RR cut short), `bad_rdlength`
   * (RDLENGTH past the end), `short` (a 7-byte packet with the right id).
   */
  | { kind: 'malformed'; variant?: 'truncated_rr' | 'bad_rdlength' | 'short' }
  /**
   * A compression pointer that loops (RFC 1035 §4.1.4 only allows pointers to earlier data):
   * `self` points at itself, `forward` two pointers point at each other; in the answer owner
   * name, or in the question when `inQuestion`.
   */
  | { kind: 'pointer_loop'; variant?: 'self' | 'forward'; inQuestion?: boolean }
  /** A response with the wrong id (or a different question), then the real answer if `thenAnswer`. */
  | { kind: 'wrong_id'; thenAnswer?: boolean }
  | { kind: 'wrong_question'; thenAnswer?: boolean }
  /** Send these bytes instead; return null to send nothing. */
  | { kind: 'raw'; build: (query: Buffer) => Uint8Array | null }
) & {
  /** Apply only to this type (mnemonic); default every type. */
  type?: string;
  /** Apply only over this transport; default both. */
  transport?: 'udp' | 'tcp';
  /** Apply to this many matching queries, then answer normally. Default: forever. */
  times?: number;
};

export interface FaultRule {
  fault: DnsFault;
  remaining: number;
}

/** Header flags for a response to `q`: QR, opcode and RD echoed, RA set (we pose as a resolver). */
export function responseFlags(q: ParsedQuery, rcode: number): number {
  return FLAG_QR | (q.flags & 0x7800) | (q.flags & FLAG_RD) | FLAG_RA | (rcode & 0xf);
}

export function rcodeOnly(q: ParsedQuery, rcode: number, extra = 0): Buffer {
  return writeResponse({
    id: q.id,
    flags: responseFlags(q, rcode) | extra,
    question: q.question,
    answer: [],
    authority: [],
    opt: null,
  });
}

export function hugeTxt(q: ParsedQuery, fault: Extract<DnsFault, { kind: 'huge' }>): Buffer[] {
  const strings = fault.strings ?? 10_000;
  const bytes = Math.min(fault.stringBytes ?? 4, 255);
  const records = Math.max(1, fault.records ?? 1);
  const perRecord = Math.ceil(strings / records);
  const out: Buffer[] = [];
  for (let r = 0; r < records; r++) {
    const count = Math.min(perRecord, strings - r * perRecord);
    if (count <= 0) break;
    const rdata = Buffer.alloc(count * (bytes + 1), 0x78);
    for (let i = 0; i < count; i++) rdata[i * (bytes + 1)] = bytes;
    out.push(encodeRr(q.name, TYPE_CODES.TXT as number, 300, rdata));
  }
  return out;
}

export function malformed(q: ParsedQuery, variant: 'truncated_rr' | 'bad_rdlength' | 'short'): Buffer {
  if (variant === 'short') {
    const out = Buffer.alloc(7);
    out.writeUInt16BE(q.id, 0);
    out.writeUInt16BE(responseFlags(q, 0), 2);
    return out;
  }
  const rr = encodeRr(q.name, q.type, 300, Buffer.from([192, 0, 2, 1]));
  const body = variant === 'truncated_rr' ? rr.subarray(0, rr.length - 3) : rr;
  if (variant === 'bad_rdlength') body.writeUInt16BE(0xfff0, body.length - 6);
  return writeResponse({
    id: q.id,
    flags: responseFlags(q, 0),
    question: q.question,
    answer: [body],
    authority: [],
    opt: null,
  });
}

export function pointerLoop(q: ParsedQuery, variant: 'self' | 'forward', inQuestion: boolean): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE(responseFlags(q, 0), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(inQuestion ? 0 : 1, 6);
  const tail = Buffer.from([0, q.type >> 8, q.type & 0xff, 0, 1]);
  if (inQuestion) {
    // Question name at offset 12: a pointer to 12 (itself), or to 14 which points back to 12.
    const name = variant === 'self' ? Buffer.from([0xc0, 12]) : Buffer.from([0xc0, 14, 0xc0, 12]);
    return Buffer.concat([header, name, tail.subarray(1)]);
  }
  const start = 12 + q.question.length;
  const name = variant === 'self' ? [0xc0, start] : [0xc0, start + 2, 0xc0, start];
  const rrTail = Buffer.alloc(10);
  rrTail.writeUInt16BE(q.type, 0);
  rrTail.writeUInt16BE(1, 2);
  rrTail.writeUInt32BE(300, 4);
  rrTail.writeUInt16BE(4, 8);
  return Buffer.concat([header, q.question, Buffer.from(name), rrTail, Buffer.from([192, 0, 2, 1])]);
}

/** The same answer for a question the client did not ask. */
export function wrongQuestion(q: ParsedQuery): Buffer {
  const spoofed = Buffer.concat([
    Buffer.from([7]),
    Buffer.from('spoofed'),
    Buffer.from([7]),
    Buffer.from('invalid'),
    Buffer.from([0]),
    q.question.subarray(q.question.length - 4),
  ]);
  return writeResponse({
    id: q.id,
    flags: responseFlags(q, 0),
    question: spoofed,
    answer: [encodeRr('spoofed.invalid', q.type, 300, Buffer.from([192, 0, 2, 66]))],
    authority: [],
    opt: null,
  });
}
