/**
 * What the server says to one query: the zone answer sized for the transport, or what a fault
 * asks for instead. Sockets are the server's business; this only produces bytes.
 */
import type { DnsFault, FaultRule } from './faults.ts';
import { hugeTxt, malformed, pointerLoop, rcodeOnly, responseFlags, wrongQuestion } from './faults.ts';
import { typeName } from './rr-wire.ts';
import {
  buildOpt,
  FLAG_AA,
  FLAG_AD,
  FLAG_CD,
  FLAG_TC,
  type ParsedQuery,
  parseQuery,
  type ResponseParts,
  responseLength,
  writeResponse,
} from './wire-query.ts';
import type { ZoneStore } from './zone-store.ts';

export type Transport = 'udp' | 'tcp';
export type Reply = (bytes: Uint8Array) => void;

export interface DnsQueryLogEntry {
  /** Lower-case, no trailing dot. */
  name: string;
  type: string;
  transport: Transport;
  id: number;
  recursionDesired: boolean;
  checkingDisabled: boolean;
  dnssecOk: boolean;
  edns: boolean;
  udpPayloadSize: number | null;
  remote: string;
}

export interface ResponderState {
  store: ZoneStore;
  faults: Map<string, FaultRule>;
  queryLog: DnsQueryLogEntry[];
  logQueries: boolean;
  maxUdp: number;
  /** Run `fn` after `ms`, unless the server closes first. */
  later(ms: number, fn: () => void): void;
}

export type Handler = (
  msg: Buffer,
  transport: Transport,
  remote: string,
  reply: Reply,
  hangUp: () => void,
) => void;

export function createResponder(state: ResponderState): Handler {
  const { store, faults, queryLog, logQueries, maxUdp, later } = state;

  function takeFault(q: ParsedQuery, transport: Transport): DnsFault | null {
    const rule = faults.get(q.name) ?? faults.get('*');
    if (!rule || rule.remaining <= 0) return null;
    const { fault } = rule;
    if (fault.type && fault.type.toUpperCase() !== typeName(q.type)) return null;
    if (fault.transport && fault.transport !== transport) return null;
    rule.remaining--;
    return fault;
  }

  function answer(q: ParsedQuery, transport: Transport, override?: Buffer[]): Buffer {
    const dnssecOk = q.edns?.dnssecOk ?? false;
    const found = override
      ? { rcode: 0, authoritative: true, authenticData: false, answer: override, authority: [] }
      : store.lookup(q.name, q.type, dnssecOk);
    let flags = responseFlags(q, found.rcode) | (q.flags & FLAG_CD);
    if (found.authoritative) flags |= FLAG_AA;
    if (found.authenticData && found.answer.length > 0) flags |= FLAG_AD;
    const parts: ResponseParts = {
      id: q.id,
      flags,
      question: q.question,
      answer: found.answer,
      authority: found.authority,
      opt: q.edns ? buildOpt(maxUdp, 0, dnssecOk) : null,
    };
    const limit =
      transport === 'tcp' ? 0xffff : q.edns ? Math.max(512, Math.min(q.edns.udpPayloadSize, maxUdp)) : 512;
    if (responseLength(parts) > limit) {
      // RFC 2181 §9: whatever does not fit is dropped and TC set; we drop all records.
      parts.flags |= FLAG_TC;
      parts.answer = [];
      parts.authority = [];
    }
    return writeResponse(parts);
  }

  function handle(msg: Buffer, transport: Transport, remote: string, reply: Reply, hangUp: () => void) {
    const q = parseQuery(msg);
    if (q === null) return;
    if (q === 'formerr') {
      const id = msg.readUInt16BE(0);
      const out = Buffer.alloc(12);
      out.writeUInt16BE(id, 0);
      out.writeUInt16BE(0x8001, 2);
      reply(out);
      return;
    }
    if (logQueries) {
      queryLog.push({
        name: q.name,
        type: typeName(q.type),
        transport,
        id: q.id,
        recursionDesired: (q.flags & 0x0100) !== 0,
        checkingDisabled: (q.flags & FLAG_CD) !== 0,
        dnssecOk: q.edns?.dnssecOk ?? false,
        edns: q.edns !== null,
        udpPayloadSize: q.edns?.udpPayloadSize ?? null,
        remote,
      });
    }
    if (q.opcode !== 0) return reply(rcodeOnly(q, 4)); // NOTIMP: only standard queries
    if (q.edns && q.edns.version > 0) {
      // RFC 6891 §6.1.3: BADVERS (16) = extended RCODE 1 with header RCODE 0.
      return reply(
        writeResponse({
          id: q.id,
          flags: responseFlags(q, 0),
          question: q.question,
          answer: [],
          authority: [],
          opt: buildOpt(maxUdp, 1, false),
        }),
      );
    }
    const fault = takeFault(q, transport);
    if (!fault) return reply(answer(q, transport));
    applyFault(fault, q, msg, transport, reply, hangUp);
  }

  function applyFault(
    fault: DnsFault,
    q: ParsedQuery,
    msg: Buffer,
    transport: Transport,
    reply: Reply,
    hangUp: () => void,
  ) {
    switch (fault.kind) {
      case 'drop':
        return;
      case 'delay':
        return later(fault.ms, () => reply(answer(q, transport)));
      case 'rcode':
        return reply(rcodeOnly(q, fault.rcode));
      case 'truncate': {
        if (transport === 'udp') return reply(rcodeOnly(q, 0, FLAG_TC | FLAG_AA));
        const mode = fault.tcp ?? 'answer';
        if (mode === 'answer') return reply(answer(q, transport));
        if (mode === 'truncate') return reply(rcodeOnly(q, 0, FLAG_TC | FLAG_AA));
        if (mode === 'close') return hangUp();
        return;
      }
      case 'huge':
        return reply(answer(q, transport, hugeTxt(q, fault)));
      case 'malformed':
        return reply(malformed(q, fault.variant ?? 'truncated_rr'));
      case 'pointer_loop':
        return reply(pointerLoop(q, fault.variant ?? 'self', fault.inQuestion ?? false));
      case 'wrong_id': {
        const good = answer(q, transport);
        const bad = Buffer.from(good);
        bad.writeUInt16BE((q.id + 1 + Math.floor(Math.random() * 0xfffe)) & 0xffff, 0);
        reply(bad);
        if (fault.thenAnswer) later(20, () => reply(good));
        return;
      }
      case 'wrong_question':
        reply(wrongQuestion(q));
        if (fault.thenAnswer) later(20, () => reply(answer(q, transport)));
        return;
      case 'raw': {
        const bytes = fault.build(msg);
        if (bytes) reply(bytes);
        return;
      }
    }
  }

  return handle;
}
