/**
 * An authoritative DNS server for tests and benchmarks, over UDP and TCP (RFC 7766 framing) on a
 * loopback address. It serves fixture zones, can be changed while running, injects faults per
 * name, and logs every query so tests can assert what the client asked.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { RecordType } from '@mailwarden/core';
import type { DnsFault, FaultRule } from './faults.ts';
import type { FixtureRRset, ZoneSpec, Zones } from './fixtures.ts';
import { createResponder, type DnsQueryLogEntry } from './responder.ts';
import { canonicalName } from './rr-wire.ts';
import { ZoneStore } from './zone-store.ts';

export type { DnsQueryLogEntry } from './responder.ts';

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

export async function startDnsServer(options: DnsServerOptions = {}): Promise<TestDnsServer> {
  const host = options.host ?? '127.0.0.1';
  const store = new ZoneStore();
  store.followCnames = options.followCnames ?? true;
  for (const [apex, spec] of Object.entries(options.zones ?? {})) store.setZone(apex, spec);
  const faults = new Map<string, FaultRule>();
  const queryLog: DnsQueryLogEntry[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const tcpSockets = new Set<net.Socket>();
  let closed = false;
  const handle = createResponder({
    store,
    faults,
    queryLog,
    logQueries: options.logQueries ?? true,
    maxUdp: options.maxUdpPayload ?? 1232,
    later(ms, fn) {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
  });

  function createUdp(): dgram.Socket {
    // Large buffers (capped by net.core.rmem_max): bursts of thousands of queries must queue,
    // not vanish, when the server is a benchmark target.
    const socket = dgram.createSocket({
      type: host.includes(':') ? 'udp6' : 'udp4',
      recvBufferSize: 4 << 20,
      sendBufferSize: 4 << 20,
    });
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
      faults.set(key, { fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
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
