/**
 * One question to the upstreams: UDP first, TCP when the answer is truncated (RFC 7766 §5),
 * retries across servers in health order. Returns a usable message (NOERROR or NXDOMAIN) or the
 * reason there is none; it never throws for anything the network or a server does.
 */
import type { UnknownReason } from '@mailwarden/core';
import type { ServerHealth } from './server-health.ts';
import { type DnsServerAddress, formatDnsServer } from './servers.ts';
import type { TcpPipelinePool } from './tcp-pipeline.ts';
import { tcpExchange } from './tcp-transport.ts';
import type { TransportOutcome, UdpPool } from './udp-transport.ts';
import { encodeQuery, FLAG_TC, type ParsedMessage, type ParseLimits, type QueryFlags } from './wire.ts';

export type ExchangeResult =
  | { kind: 'message'; message: ParsedMessage }
  | { kind: 'failure'; reason: UnknownReason; detail: string };

export interface ExchangeCounters {
  udpQueriesSent: number;
  tcpQueriesSent: number;
  timeouts: number;
}

export interface ExchangeContext {
  pool: UdpPool;
  /** Set when the client runs over pipelined TCP instead of UDP (options.transport). */
  tcpPool: TcpPipelinePool | null;
  health: ServerHealth;
  slots: Slots;
  timeoutMs: number;
  attempts: number;
  maxResponseBytes: number;
  limits: ParseLimits;
  counters: ExchangeCounters;
}

/** Bounds queries on the wire so a burst cannot overrun socket buffers and turn into timeouts. */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  acquire(): Promise<void> | null {
    if (this.free > 0) {
      this.free--;
      return null;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

const RCODE_FAILURES: Record<number, UnknownReason> = {
  1: 'formerr',
  2: 'servfail',
  4: 'notimp',
  5: 'refused',
};

/** RFC 1035 §4.1.1 RCODEs (and RFC 6891 extended ones) that mean "no usable answer". */
function rcodeFailure(rcode: number): { reason: UnknownReason; detail: string } | null {
  if (rcode === 0 || rcode === 3) return null;
  const reason = RCODE_FAILURES[rcode] ?? (rcode === 16 ? 'formerr' : 'servfail');
  return { reason, detail: `RCODE ${rcode}` };
}

export async function exchange(
  ctx: ExchangeContext,
  qname: string,
  qtype: number,
  flags: QueryFlags,
): Promise<ExchangeResult> {
  const order = ctx.health.order();
  // A server that answered with an error or garbage is not asked again for this question; one
  // that timed out may be (with a single server that is the classic resolv.conf retry).
  const answered: DnsServerAddress[] = [];
  let transient: { reason: UnknownReason; detail: string } | null = null;
  let definitive: { reason: UnknownReason; detail: string } | null = null;
  let cursor = 0;
  for (let attempt = 0; attempt < ctx.attempts; attempt++) {
    let server: DnsServerAddress | undefined;
    for (let k = 0; k < order.length && !server; k++) {
      const candidate = order[(cursor + k) % order.length] as DnsServerAddress;
      if (!answered.includes(candidate)) {
        server = candidate;
        cursor += k + 1;
      }
    }
    if (!server) break;
    const wait = ctx.slots.acquire();
    if (wait) await wait;
    let outcome: TransportOutcome;
    try {
      outcome = await send(ctx, server, qname, qtype, flags);
    } finally {
      ctx.slots.release();
    }
    if (outcome.kind === 'timeout' || outcome.kind === 'network') {
      ctx.health.failed(server);
      if (outcome.kind === 'timeout') ctx.counters.timeouts++;
      transient =
        outcome.kind === 'timeout'
          ? { reason: 'timeout', detail: `${formatDnsServer(server)} did not answer in ${ctx.timeoutMs} ms` }
          : { reason: 'network', detail: `${formatDnsServer(server)}: ${outcome.detail}` };
      continue;
    }
    ctx.health.succeeded(server);
    answered.push(server);
    // Size is a property of the data, not of the server: asking elsewhere would not help.
    if (outcome.kind === 'too_large') return { kind: 'failure', reason: 'too_large', detail: outcome.detail };
    if (outcome.kind === 'malformed') {
      definitive ??= { reason: 'malformed', detail: `${formatDnsServer(server)}: ${outcome.detail}` };
      continue;
    }
    let message = outcome.message;
    if (message.flags & FLAG_TC && ctx.tcpPool) {
      definitive ??= { reason: 'truncated', detail: `${formatDnsServer(server)}: truncated over TCP` };
      continue;
    }
    if (message.flags & FLAG_TC) {
      ctx.counters.tcpQueriesSent++;
      const tcp = await tcpExchange(
        {
          server,
          qname,
          qtype,
          timeoutMs: ctx.timeoutMs,
          maxResponseBytes: ctx.maxResponseBytes,
          limits: ctx.limits,
        },
        encodeQuery(message.id, qname, qtype, flags),
      );
      if (tcp.kind === 'too_large') return { kind: 'failure', reason: 'too_large', detail: tcp.detail };
      if (tcp.kind !== 'ok' || tcp.message.flags & FLAG_TC) {
        const why = tcp.kind === 'ok' ? 'truncated over TCP too' : `TCP fallback failed: ${describe(tcp)}`;
        definitive ??= { reason: 'truncated', detail: `${formatDnsServer(server)}: ${why}` };
        continue;
      }
      message = tcp.message;
    }
    const failure = rcodeFailure(message.rcode);
    if (failure) {
      definitive ??= { reason: failure.reason, detail: `${formatDnsServer(server)}: ${failure.detail}` };
      continue;
    }
    return { kind: 'message', message };
  }
  const reported = definitive ??
    transient ?? { reason: 'network' as const, detail: 'no DNS servers configured' };
  return { kind: 'failure', reason: reported.reason, detail: reported.detail };
}

/** One attempt on the configured transport; the caller holds a slot. */
function send(
  ctx: ExchangeContext,
  server: DnsServerAddress,
  qname: string,
  qtype: number,
  flags: QueryFlags,
): Promise<TransportOutcome> {
  if (ctx.tcpPool) {
    ctx.counters.tcpQueriesSent++;
    const framed = (id: number) => encodeQuery(id, qname, qtype, flags, true);
    return ctx.tcpPool.exchange(server, qname, qtype, ctx.timeoutMs, framed);
  }
  ctx.counters.udpQueriesSent++;
  const build = (id: number) => encodeQuery(id, qname, qtype, flags);
  return ctx.pool.exchange(server, qname, qtype, ctx.timeoutMs, build);
}

function describe(outcome: TransportOutcome): string {
  if (outcome.kind === 'timeout') return 'timeout';
  if (outcome.kind === 'ok') return 'ok';
  return outcome.detail;
}
