/**
 * One probe connection: dialled through the SSRF guard to the vetted address itself, read through
 * the bounded line reader, with one deadline for the whole session and one per reply. The socket
 * is always destroyed by `close()`, whatever happened, so no probe leaves a handle behind.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import type { DnsResult, RecordType, Resolver } from '@mailwarden/core';
import type { AllowList } from '../ssrf/cidr.ts';
import { connectGuarded } from '../ssrf/connect.ts';
import { LineReader } from './line-reader.ts';
import { type Deadlines, type DialogueFailure, type ReplyResult, readReply } from './reply.ts';
import { type HandshakeResult, handshake } from './tls-handshake.ts';
import type { ProbeStage, ReplyObservation, UntestableReason } from './types.ts';

export interface ProbeLimits {
  maxLineBytes: number;
  maxBufferedBytes: number;
  maxReplyLines: number;
  maxReplyBytes: number;
}

/** RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; real EHLO answers stay far below these. */
export const DEFAULT_PROBE_LIMITS: ProbeLimits = {
  maxLineBytes: 2048,
  maxBufferedBytes: 64 * 1024,
  maxReplyLines: 100,
  maxReplyBytes: 32 * 1024,
};

/** Literal addresses are never resolved; a resolver that answers nothing proves it. */
const noLookups: Resolver = {
  query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
    return Promise.resolve({ status: 'unknown', name, type, reason: 'refused', detail: 'no lookups' });
  },
};

export interface Untestable {
  reason: UntestableReason;
  stage: ProbeStage;
  detail: string;
}

export type OpenResult =
  | { ok: true; conversation: Conversation }
  | { ok: false; refused?: { verdict: string; detail: string }; untestable?: Untestable; closed?: boolean };

export interface OpenOptions {
  address: string;
  port: number;
  allow: AllowList;
  connectTimeoutMs: number;
  deadlines: Deadlines;
  limits: ProbeLimits;
  signal?: AbortSignal;
}

export function untestableOf(failure: DialogueFailure, stage: ProbeStage): Untestable {
  const reasons: Record<DialogueFailure['kind'], UntestableReason> = {
    timeout: 'timeout',
    tarpit: 'tarpit',
    closed: 'closed',
    reset: 'connection_reset',
    line_too_long: 'reply_too_large',
    flood: 'reply_too_large',
    reply_too_large: 'reply_too_large',
    protocol_error: 'protocol_error',
    network_error: 'network_error',
    aborted: 'aborted',
  };
  return { reason: reasons[failure.kind], stage, detail: failure.detail };
}

export function observed(reply: { code: number; lines: string[] }): ReplyObservation {
  // Evidence keeps at most 512 characters per line (the RFC 5321 line size).
  return { code: reply.code, lines: reply.lines.map((l) => (l.length > 512 ? `${l.slice(0, 512)}…` : l)) };
}

export class Conversation {
  readonly plain: net.Socket;
  socket: net.Socket | tls.TLSSocket;
  reader: LineReader;
  readonly deadlines: Deadlines;
  readonly limits: ProbeLimits;

  constructor(plain: net.Socket, deadlines: Deadlines, limits: ProbeLimits) {
    this.plain = plain;
    this.socket = plain;
    this.deadlines = deadlines;
    this.limits = limits;
    this.reader = new LineReader(plain, limits);
  }

  remainingMs(): number {
    return Math.max(0, this.deadlines.sessionEndsAt - Date.now());
  }

  reply(): Promise<ReplyResult> {
    return readReply(this.reader, this.limits, this.deadlines);
  }

  line(): ReturnType<LineReader['next']> {
    return this.reader.next(Math.min(this.deadlines.replyTimeoutMs, this.remainingMs()));
  }

  send(text: string): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(`${text}\r\n`);
  }

  command(text: string): Promise<ReplyResult> {
    this.send(text);
    return this.reply();
  }

  /** Hands the plaintext socket to TLS; returns the unread plaintext byte count with the result. */
  async upgrade(
    servername: string,
    ctx: tls.SecureContext,
  ): Promise<{ result: HandshakeResult; discardedPlaintextBytes: number }> {
    const { unreadBytes } = this.reader.detach();
    // A server that never answers the ClientHello gets the reply deadline, like any other silence.
    const result = await handshake(
      this.plain,
      servername,
      ctx,
      Math.min(this.deadlines.replyTimeoutMs, this.remainingMs()),
    );
    if (result.ok) {
      this.socket = result.socket;
      this.reader = new LineReader(result.socket, this.limits);
    }
    return { result, discardedPlaintextBytes: unreadBytes };
  }

  /** Sends QUIT and waits briefly for the 221 (RFC 5321 §4.1.1.10), then closes. */
  async quit(graceMs = 1000): Promise<void> {
    this.send('QUIT');
    await this.reader.next(Math.min(graceMs, this.remainingMs()));
    this.close();
  }

  close(): void {
    this.reader.detach();
    this.socket.destroy();
    this.plain.destroy();
  }
}

/** Dials `address` through the SSRF guard (the address is vetted; nothing is resolved). */
export async function openConversation(options: OpenOptions): Promise<OpenResult> {
  const r = await connectGuarded({
    host: options.address,
    port: options.port,
    resolver: noLookups,
    allow: options.allow,
    timeoutMs: Math.min(options.connectTimeoutMs, options.deadlines.sessionEndsAt - Date.now()),
    attemptTimeoutMs: options.connectTimeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (r.ok) {
    const socket = r.socket as net.Socket;
    socket.setNoDelay(true);
    return { ok: true, conversation: new Conversation(socket, options.deadlines, options.limits) };
  }
  if (r.reason === 'ssrf_refused' || r.reason === 'invalid_host') {
    const verdict = r.refused?.[0]?.verdict ?? r.reason;
    return { ok: false, refused: { verdict, detail: r.detail } };
  }
  const reasons: Partial<Record<typeof r.reason, UntestableReason>> = {
    timeout: 'connect_timeout',
    connection_refused: 'connection_refused',
    connection_reset: 'connection_reset',
    unreachable: 'unreachable',
    aborted: 'aborted',
  };
  return {
    ok: false,
    closed: r.reason === 'connection_refused',
    untestable: { reason: reasons[r.reason] ?? 'network_error', stage: 'connect', detail: r.detail },
  };
}
