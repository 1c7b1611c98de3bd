/**
 * Persistent, pipelined TCP to each upstream (RFC 7766 §6.2.1.1): many queries in flight on one
 * connection, answers matched by id and question in whatever order they come (§7). Queries made
 * in the same event-loop turn leave in one write, so a burst costs one syscall, not one per query
 * as over UDP. The connection closes after `idleTimeoutMs` without queries (§6.2.3) and is
 * reopened on demand; queries caught by a close the server chose are sent again once.
 */
import net from 'node:net';
import { QueryIdSource } from './query-ids.ts';
import type { DnsServerAddress } from './servers.ts';
import type { TransportOutcome } from './udp-transport.ts';
import { type ParseLimits, parseResponse } from './wire.ts';

export interface TcpPipelineOptions {
  maxResponseBytes: number;
  limits: ParseLimits;
  idleTimeoutMs: number;
  onStray(): void;
}

interface Pending {
  qname: string;
  qtype: number;
  frame: Buffer;
  resent: boolean;
  done: boolean;
  conn: Connection;
  timer: NodeJS.Timeout;
  resolve(outcome: TransportOutcome): void;
}

interface Connection {
  socket: net.Socket;
  pending: Map<number, Pending>;
  /** Frames written at the end of this turn (or once connected). */
  outbox: Buffer[];
  connected: boolean;
  closed: boolean;
  /** At least one answer arrived: a later close is the server's choice, not a dead server. */
  answered: boolean;
  buffer: Buffer;
  /** Bytes of an oversized message still to be thrown away. */
  skip: number;
  idleTimer: NodeJS.Timeout | null;
}

export class TcpPipelinePool {
  private readonly options: TcpPipelineOptions;
  private readonly connections = new Map<string, Connection>();
  private readonly ids = new QueryIdSource(1024);
  private readonly dirty = new Set<Connection>();
  private flushScheduled = false;
  private closed = false;

  constructor(options: TcpPipelineOptions) {
    this.options = options;
  }

  /** `build` encodes the query for the id we chose, already framed with its length. */
  exchange(
    server: DnsServerAddress,
    qname: string,
    qtype: number,
    timeoutMs: number,
    build: (id: number) => Buffer,
  ): Promise<TransportOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'network', detail: 'client closed' });
    const conn = this.connectionFor(server);
    let id = this.ids.take();
    while (conn.pending.has(id)) id = this.ids.take();
    const frame = build(id);
    return new Promise<TransportOutcome>((resolve) => {
      const entry: Pending = {
        qname,
        qtype,
        frame,
        resent: false,
        done: false,
        conn,
        timer: setTimeout(() => entry.resolve({ kind: 'timeout' }), timeoutMs),
        resolve: (outcome) => {
          if (entry.done) return;
          entry.done = true;
          clearTimeout(entry.timer);
          // The entry may have moved to a new connection after a close: use where it lives now.
          const home = entry.conn;
          if (home.pending.get(id) === entry) home.pending.delete(id);
          if (home.pending.size === 0) this.armIdle(home);
          resolve(outcome);
        },
      };
      conn.pending.set(id, entry);
      this.write(conn, frame);
    });
  }

  close(): void {
    this.closed = true;
    for (const conn of [...this.connections.values()]) this.drop(conn, 'client closed', false);
  }

  private connectionFor(server: DnsServerAddress): Connection {
    const key = `${server.host}|${server.port}`;
    const existing = this.connections.get(key);
    if (existing && !existing.closed) {
      if (existing.idleTimer) clearTimeout(existing.idleTimer);
      existing.idleTimer = null;
      return existing;
    }
    const socket = net.connect({ host: server.host, port: server.port, noDelay: true });
    const conn: Connection = {
      socket,
      pending: new Map(),
      outbox: [],
      connected: false,
      closed: false,
      answered: false,
      buffer: Buffer.alloc(0),
      skip: 0,
      idleTimer: null,
    };
    this.connections.set(key, conn);
    socket.unref();
    socket.on('connect', () => {
      conn.connected = true;
      this.markDirty(conn);
    });
    socket.on('data', (chunk) => this.receive(conn, chunk));
    socket.on('error', (err) => this.drop(conn, err.message, true, server));
    socket.on('close', () => this.drop(conn, 'connection closed by the server', true, server));
    return conn;
  }

  private write(conn: Connection, frame: Buffer): void {
    conn.outbox.push(frame);
    this.markDirty(conn);
  }

  private markDirty(conn: Connection): void {
    this.dirty.add(conn);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const c of this.dirty) {
        if (!c.connected || c.closed || c.outbox.length === 0) continue;
        const frames = c.outbox;
        c.outbox = [];
        c.socket.write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
      }
      this.dirty.clear();
    });
  }

  private armIdle(conn: Connection): void {
    if (conn.closed || conn.idleTimer) return;
    conn.idleTimer = setTimeout(() => {
      if (conn.pending.size === 0) this.drop(conn, 'idle', false);
    }, this.options.idleTimeoutMs);
    conn.idleTimer.unref();
  }

  private receive(conn: Connection, chunk: Buffer): void {
    let buf = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk]);
    for (;;) {
      if (conn.skip > 0) {
        const n = Math.min(conn.skip, buf.length);
        conn.skip -= n;
        buf = buf.subarray(n);
        if (conn.skip > 0) break;
      }
      if (buf.length < 2) break;
      const length = buf.readUInt16BE(0);
      if (length > this.options.maxResponseBytes) {
        // Refuse to buffer it; name the query it answers once its id is in, then discard it.
        if (buf.length < 4) break;
        const entry = conn.pending.get(buf.readUInt16BE(2));
        entry?.resolve({ kind: 'too_large', detail: `${length}-byte response over TCP` });
        conn.skip = length;
        buf = buf.subarray(2);
        continue;
      }
      if (buf.length < 2 + length) break;
      const msg = buf.subarray(2, 2 + length);
      buf = buf.subarray(2 + length);
      this.deliver(conn, msg);
    }
    // Keep only the unread tail, copied, so one big read is not pinned by a small remainder.
    conn.buffer = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  private deliver(conn: Connection, msg: Buffer): void {
    conn.answered = true;
    const entry = msg.length >= 2 ? conn.pending.get(msg.readUInt16BE(0)) : undefined;
    const outcome = entry ? parseResponse(msg, entry.qname, entry.qtype, this.options.limits) : null;
    if (!entry || !outcome || outcome.kind === 'mismatch') this.options.onStray();
    else entry.resolve(outcome);
  }

  private drop(conn: Connection, detail: string, resend: boolean, server?: DnsServerAddress): void {
    if (conn.closed) return;
    conn.closed = true;
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    for (const [key, value] of this.connections) if (value === conn) this.connections.delete(key);
    conn.socket.destroy();
    const orphans = [...conn.pending.entries()];
    conn.pending.clear();
    for (const [id, entry] of orphans) {
      // RFC 7766 §6.2.3: a server may close at any time; ask again once on a new connection,
      // unless it never answered anything (then it is down, and the caller should move on).
      const next =
        resend && server && conn.answered && !entry.resent && !this.closed
          ? this.connectionFor(server)
          : null;
      if (next && !next.pending.has(id)) {
        entry.resent = true;
        entry.conn = next;
        next.pending.set(id, entry);
        this.write(next, entry.frame);
      } else {
        entry.resolve({ kind: 'network', detail });
      }
    }
  }
}
