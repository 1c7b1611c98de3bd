/**
 * An authoritative DNS server for tests and benchmarks, over UDP and TCP (RFC 7766 framing) on a
 * loopback address. It serves fixture zones, can be changed while running, injects faults per
 * name, and logs every query so tests can assert what the client asked.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { RecordType } from '@mailwarden/core';
import {
  type DnsFault,
  type FaultRule,
  hugeTxt,
  malformed,
  pointerLoop,
  rcodeOnly,
  responseFlags,
  wrongQuestion,
} from './faults.ts';
import type { FixtureRRset, ZoneSpec, Zones } from './fixtures.ts';
import { canonicalName, typeName } from './rr-wire.ts';
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
import { ZoneStore } from './zone-store.ts';

export interface DnsServerOptions {
  /** A loopback address; give each fixture its own 127.0.0.x if useful. Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, the same number for UDP and TCP. */
  port?: number;
  zones?: Zones;
  /** Listen on TCP too. Default true; false makes truncation unrecoverable. */
  tcp?: boolean;
  /** Follow CNAMEs into other fixture names (default true), as an authoritative server does. */
  followCnames?: boolean;
  /** Largest UDP response with EDNS (RFC 6891 §6.2.5); 512 without EDNS (RFC 1035 §4.2.1). Default 1232. */
  maxUdpPayload?: number;
  /** Keep `queryLog`. Default true; benchmarks turn it off. */
  logQueries?: boolean;
}

export interface DnsQueryLogEntry {
  /** Lower-case, no trailing dot. */
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  id: number;
  recursionDesired: boolean;
  checkingDisabled: boolean;
  dnssecOk: boolean;
  edns: boolean;
  udpPayloadSize: number | null;
  remote: string;
}

export interface TestDnsServer {
  host: string;
  port: number;
  /** `host:port`, or `[host]:port` for IPv6, as DNS_SERVERS and `parseDnsServers` take it. */
  address: string;
  queryLog: DnsQueryLogEntry[];
  /** Queries logged for a name (any case, trailing dot optional), optionally of one type. */
  queriesFor(name: string, type?: string): DnsQueryLogEntry[];
  clearLog(): void;
  setZone(apex: string, spec: ZoneSpec): void;
  removeZone(apex: string): void;
  /** Replace one RRset; an empty list removes it. The name must fall inside a fixture zone. */
  setRecords<T extends RecordType>(name: string, type: T, rrset: FixtureRRset<T>): void;
  deleteRecords(name: string, type?: RecordType): void;
  /**
   * Inject a fault for one name (replacing earlier faults for it), or for every name without a
   * fault of its own with `'*'`; see `DnsFault`.
   */
  setFault(name: string, fault: DnsFault): void;
  clearFaults(name?: string): void;
  close(): Promise<void>;
}

type Transport = 'udp' | 'tcp';
type Reply = (bytes: Uint8Array) => void;

export async function startDnsServer(options: DnsServerOptions = {}): Promise<TestDnsServer> {
  const host = options.host ?? '127.0.0.1';
  const store = new ZoneStore();
  store.followCnames = options.followCnames ?? true;
  for (const [apex, spec] of Object.entries(options.zones ?? {})) store.setZone(apex, spec);
  const faults = new Map<string, FaultRule[]>();
  const queryLog: DnsQueryLogEntry[] = [];
  const logQueries = options.logQueries ?? true;
  const maxUdp = options.maxUdpPayload ?? 1232;
  const timers = new Set<NodeJS.Timeout>();
  const tcpSockets = new Set<net.Socket>();
  let closed = false;

  function later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  }

  function takeFault(q: ParsedQuery, transport: Transport): DnsFault | null {
    const rules = faults.get(q.name) ?? faults.get('*');
    if (!rules) return null;
    const qtype = typeName(q.type);
    for (const rule of rules) {
      const { fault } = rule;
      if (rule.remaining <= 0) continue;
      if (fault.type && fault.type.toUpperCase() !== qtype) continue;
      if (fault.transport && fault.transport !== transport) continue;
      rule.remaining--;
      return fault;
    }
    return null;
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

  function createUdp(): dgram.Socket {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    // Replies leave together at the end of the event-loop turn, the way servers batch them with
    // sendmmsg: a burst of queries is answered by a burst, one wake-up of the client for many.
    let outbox: { bytes: Uint8Array; port: number; address: string }[] = [];
    const flush = () => {
      const batch = outbox;
      outbox = [];
      for (const r of batch) if (!closed) socket.send(r.bytes, r.port, r.address);
    };
    socket.on('message', (msg, rinfo) => {
      handle(
        msg,
        'udp',
        `${rinfo.address}:${rinfo.port}`,
        (bytes) => {
          if (outbox.push({ bytes, port: rinfo.port, address: rinfo.address }) === 1) setImmediate(flush);
        },
        () => {},
      );
    });
    // A client that vanished is not the server's problem (ICMP errors surface here).
    socket.on('error', () => {});
    return socket;
  }

  const tcpServer = net.createServer((socket) => {
    tcpSockets.add(socket);
    socket.on('close', () => tcpSockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('data', (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // Answers to a pipelined burst leave in one write (RFC 7766 §6.2.1.1 allows any order).
      socket.cork();
      process.nextTick(() => socket.uncork());
      // RFC 7766 §8: each message is preceded by its two-byte length; several may be pipelined.
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const msg = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        handle(
          msg,
          'tcp',
          remote,
          (bytes) => {
            if (socket.destroyed) return;
            const frame = Buffer.allocUnsafe(2 + bytes.length);
            frame.writeUInt16BE(bytes.length, 0);
            frame.set(bytes, 2);
            socket.write(frame);
          },
          () => {
            // Hang up after what is already answered, as a server closing a connection does.
            socket.uncork();
            socket.end();
          },
        );
      }
    });
  });

  const { udp, port } = await listenBoth(createUdp, tcpServer, host, options.port ?? 0, options.tcp ?? true);
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;

  return {
    host,
    port,
    address,
    queryLog,
    queriesFor(name, type) {
      const wanted = canonicalName(name);
      return queryLog.filter(
        (e) => e.name === wanted && (type === undefined || e.type === type.toUpperCase()),
      );
    },
    clearLog() {
      queryLog.length = 0;
    },
    setZone: (apex, spec) => store.setZone(apex, spec),
    removeZone: (apex) => store.removeZone(apex),
    setRecords: (name, type, rrset) => store.setRecords(name, type, rrset),
    deleteRecords: (name, type) => store.deleteRecords(name, type),
    setFault(name, fault) {
      const key = name === '*' ? '*' : canonicalName(name);
      faults.set(key, [{ fault, remaining: fault.times ?? Number.POSITIVE_INFINITY }]);
    },
    clearFaults(name) {
      if (name === undefined) faults.clear();
      else faults.delete(name === '*' ? '*' : canonicalName(name));
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of tcpSockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => (tcpServer.listening ? tcpServer.close(() => resolve()) : resolve())),
      ]);
    },
  };
}

/** Bind UDP first (port 0 picks one), then TCP on the same number; retry if TCP's is taken. */
async function listenBoth(
  createUdp: () => dgram.Socket,
  tcp: net.Server,
  host: string,
  port: number,
  withTcp: boolean,
): Promise<{ udp: dgram.Socket; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const udp = createUdp();
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const bound = udp.address().port;
    if (!withTcp) return { udp, port: bound };
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(bound, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, port: bound };
    } catch (err) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      if (port !== 0 || attempt >= 10) throw err;
    }
  }
}
