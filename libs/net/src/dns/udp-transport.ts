/**
 * UDP exchanges over a small pool of connected sockets per upstream server.
 *
 * Why a pool and not a socket per query: creating, binding and closing a socket costs several
 * syscalls and a libuv handle per query, which at benchmark rates dominates everything else.
 * Source-port randomisation (RFC 5452 §4.5) still holds in the large: every socket is bound to a
 * port the kernel picks at random from the ephemeral range, and is retired after
 * `maxQueriesPerSocket` queries, so the port keeps changing. Per query an off-path forger must
 * also guess a 16-bit id drawn from a CSPRNG and echo the question (RFC 5452 §9.1).
 *
 * Why connected sockets: the kernel then delivers only datagrams from the server's address and
 * port (a spoofer must forge those too), sends skip the per-packet address lookup, and an ICMP
 * port-unreachable surfaces at once as ECONNREFUSED instead of a timeout.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { QueryIdSource } from './query-ids.ts';
import type { DnsServerAddress } from './servers.ts';
import { type ParseLimits, type ParseOutcome, parseResponse } from './wire.ts';

export type TransportOutcome =
  | Extract<ParseOutcome, { kind: 'ok' | 'malformed' | 'too_large' }>
  | { kind: 'timeout' }
  | { kind: 'network'; detail: string };

export interface UdpPoolOptions {
  socketsPerServer: number;
  maxQueriesPerSocket: number;
  maxResponseBytes: number;
  limits: ParseLimits;
  /** Called for every packet that is ignored (unknown id, wrong source, wrong question). */
  onStray(): void;
}

interface Pending {
  server: DnsServerAddress;
  qname: string;
  qtype: number;
  timer: NodeJS.Timeout;
  resolve(outcome: TransportOutcome): void;
}

interface PooledSocket {
  socket: dgram.Socket;
  pending: Map<number, Pending>;
  uses: number;
  retired: boolean;
  /** Datagrams waiting for `connect` to finish (sending earlier throws). */
  queued: Buffer[] | null;
  closed: boolean;
}

interface ServerSockets {
  slots: (PooledSocket | undefined)[];
  cursor: number;
}

export class UdpPool {
  private readonly options: UdpPoolOptions;
  private readonly servers = new Map<string, ServerSockets>();
  private readonly ids = new QueryIdSource();
  private closed = false;
  /** Pairs of (socket, datagram) to send at the end of this event-loop turn. */
  private readonly outbox: (PooledSocket | Buffer)[] = [];
  private flushScheduled = false;

  constructor(options: UdpPoolOptions) {
    this.options = options;
  }

  /** `build` encodes the query for the id we chose. */
  exchange(
    server: DnsServerAddress,
    qname: string,
    qtype: number,
    timeoutMs: number,
    build: (id: number) => Buffer,
  ): Promise<TransportOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'network', detail: 'client closed' });
    const pooled = this.socketFor(server);
    let id = this.ids.take();
    while (pooled.pending.has(id)) id = this.ids.take();
    const bytes = build(id);
    return new Promise<TransportOutcome>((resolve) => {
      const finish = (outcome: TransportOutcome) => {
        const entry = pooled.pending.get(id);
        if (!entry) return;
        clearTimeout(entry.timer);
        pooled.pending.delete(id);
        if (pooled.retired && pooled.pending.size === 0) closeSocket(pooled);
        resolve(outcome);
      };
      const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
      pooled.pending.set(id, { server, qname, qtype, timer, resolve: finish });
      if (pooled.queued) pooled.queued.push(bytes);
      else this.enqueue(pooled, bytes);
    });
  }

  /**
   * Sends are written at the end of the event-loop turn rather than one by one: answers arrive
   * in bursts and each triggers the next query, so this sends a burst too, and the server wakes
   * once for it instead of once per packet (the kernel's wake-up, not our code, dominated).
   */
  private enqueue(pooled: PooledSocket, bytes: Buffer): void {
    this.outbox.push(pooled, bytes);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = () => {
    this.flushScheduled = false;
    const out = this.outbox.splice(0);
    for (let i = 0; i < out.length; i += 2) {
      const pooled = out[i] as PooledSocket;
      if (pooled.closed) continue;
      try {
        // No send callback: a failed send emits 'error' on the socket, which fails its queries.
        pooled.socket.send(out[i + 1] as Buffer);
      } catch (err) {
        this.discard(pooled, (err as Error).message);
      }
    }
  };

  close(): void {
    this.closed = true;
    for (const sockets of this.servers.values()) {
      for (const pooled of sockets.slots.splice(0)) if (pooled) this.discard(pooled, 'client closed');
    }
  }

  private socketFor(server: DnsServerAddress): PooledSocket {
    const key = `${server.host}|${server.port}`;
    let sockets = this.servers.get(key);
    if (!sockets) {
      sockets = { slots: [], cursor: 0 };
      this.servers.set(key, sockets);
    }
    const index = sockets.cursor++ % this.options.socketsPerServer;
    let pooled = sockets.slots[index];
    if (pooled?.closed) pooled = undefined;
    if (pooled && pooled.uses >= this.options.maxQueriesPerSocket) {
      // Retire: no new queries; it closes once its last answer (or timeout) is in.
      pooled.retired = true;
      if (pooled.pending.size === 0) closeSocket(pooled);
      pooled = undefined;
    }
    if (!pooled) {
      pooled = this.open(server, sockets, index);
      sockets.slots[index] = pooled;
    }
    pooled.uses++;
    return pooled;
  }

  private open(server: DnsServerAddress, sockets: ServerSockets, index: number): PooledSocket {
    // 1 MiB (the kernel caps it at net.core.rmem_max): answers to a burst must not overflow it.
    const socket = dgram.createSocket({
      type: isIPv6(server.host) ? 'udp6' : 'udp4',
      recvBufferSize: 1 << 20,
    });
    const pooled: PooledSocket = {
      socket,
      pending: new Map(),
      uses: 0,
      retired: false,
      queued: [],
      closed: false,
    };
    socket.on('message', (msg, rinfo) => this.receive(pooled, msg, rinfo));
    socket.on('error', (err) => {
      if (sockets.slots[index] === pooled) sockets.slots[index] = undefined;
      this.discard(pooled, err.message);
    });
    // With a callback, node reports a failed connect to it rather than as an 'error' event.
    socket.connect(server.port, server.host, (err?: Error) => {
      if (err) {
        if (sockets.slots[index] === pooled) sockets.slots[index] = undefined;
        this.discard(pooled, err.message);
        return;
      }
      const queued = pooled.queued ?? [];
      pooled.queued = null;
      for (const bytes of queued) this.enqueue(pooled, bytes);
    });
    // Idle pooled sockets must not keep the process alive; pending timers do while queries run.
    socket.unref();
    return pooled;
  }

  private discard(pooled: PooledSocket, detail: string): void {
    for (const entry of [...pooled.pending.values()]) entry.resolve({ kind: 'network', detail });
    closeSocket(pooled);
  }

  private receive(pooled: PooledSocket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const entry = msg.length >= 2 ? pooled.pending.get(msg.readUInt16BE(0)) : undefined;
    // RFC 5452 §9.1: only a packet from the address and port we asked, with our id, counts.
    const outcome =
      entry && rinfo.port === entry.server.port && sameAddress(rinfo.address, entry.server.host)
        ? parseResponse(msg, entry.qname, entry.qtype, this.options.limits)
        : null;
    if (!entry || !outcome || outcome.kind === 'mismatch') {
      this.options.onStray();
    } else if (msg.length > this.options.maxResponseBytes) {
      entry.resolve({ kind: 'too_large', detail: `${msg.length}-byte response` });
    } else {
      entry.resolve(outcome);
    }
  }
}

function closeSocket(pooled: PooledSocket): void {
  if (pooled.closed) return;
  pooled.closed = true;
  try {
    pooled.socket.close();
  } catch {
    // already closed by an error
  }
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  // IPv6 text forms differ (case, zero compression, zone ids); compare loosely only then.
  return isIPv6(a) && isIPv6(b) && a.toLowerCase() === b.split('%')[0]?.toLowerCase();
}
