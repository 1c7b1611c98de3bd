/**
 * The DNS client behind core's `Resolver`: normalise the name, answer from the shared cache,
 * join an identical query already on the wire, otherwise ask the upstreams and follow CNAMEs.
 * Every DNS problem ends as a result (`unknown` with a reason); `query` never rejects.
 */
import {
  type Clock,
  type DnsResult,
  type DnssecSections,
  type QueryOptions,
  type RecordType,
  type Resolver,
  systemClock,
  type UnknownReason,
} from '@mailwarden/core';
import { TtlLruCache } from './cache.ts';
import { type ExchangeContext, exchange, Slots } from './exchange.ts';
import { interpret, sectionsOf } from './interpret.ts';
import { normaliseQueryName } from './names.ts';
import { type DnsClientOptions, type ResolvedOptions, resolveOptions } from './options.ts';
import { ServerHealth } from './server-health.ts';
import type { DnsServerAddress } from './servers.ts';
import { TcpPipelinePool } from './tcp-pipeline.ts';
import { UdpPool } from './udp-transport.ts';
import { FLAG_AD, type QueryFlags, TYPE_CODES } from './wire.ts';

export interface DnsClientStats {
  /** Calls to `query`. */
  queries: number;
  cacheHits: number;
  /** Calls that joined an identical query already in flight. */
  coalesced: number;
  /** Messages sent upstream, UDP and TCP. */
  queriesSent: number;
  udpQueriesSent: number;
  tcpQueriesSent: number;
  timeouts: number;
  /** Packets ignored: unknown id, wrong source, or not an answer to our question. */
  strayPackets: number;
  cacheEntries: number;
}

export interface DnsClient extends Resolver {
  stats(): DnsClientStats;
  /** Servers currently backed off after failing. */
  downServers(): DnsServerAddress[];
  clearCache(): void;
  /** Close the sockets; later queries end as `unknown('network')`. */
  close(): void;
}

type AnyResult = DnsResult<RecordType>;

export function createDnsClient(options: DnsClientOptions): DnsClient {
  const o = resolveOptions(options, systemClock);
  return new Client(o);
}

class Client implements DnsClient {
  private readonly o: ResolvedOptions;
  private readonly clock: Clock;
  private readonly ctx: ExchangeContext;
  private readonly pool: UdpPool;
  private readonly tcpPool: TcpPipelinePool | null;
  private readonly health: ServerHealth;
  private readonly cache: TtlLruCache<AnyResult> | null;
  private readonly inflight = new Map<string, Promise<AnyResult>>();
  private readonly counters = { queries: 0, cacheHits: 0, coalesced: 0, strayPackets: 0 };

  constructor(o: ResolvedOptions) {
    this.o = o;
    this.clock = o.clock;
    this.pool = new UdpPool({
      socketsPerServer: o.socketsPerServer,
      maxQueriesPerSocket: o.maxQueriesPerSocket,
      maxResponseBytes: o.limits.maxResponseBytes,
      limits: { maxAnswerRecords: o.limits.maxAnswerRecords },
      onStray: () => {
        this.counters.strayPackets++;
      },
    });
    this.tcpPool =
      o.transport === 'tcp'
        ? new TcpPipelinePool({
            maxResponseBytes: o.limits.maxResponseBytes,
            limits: { maxAnswerRecords: o.limits.maxAnswerRecords },
            idleTimeoutMs: o.tcpIdleTimeoutMs,
            onStray: () => {
              this.counters.strayPackets++;
            },
          })
        : null;
    this.health = new ServerHealth(o.servers, {
      baseBackoffMs: o.backoffBaseMs,
      maxBackoffMs: o.backoffMaxMs,
      now: () => this.nowMs(),
    });
    this.ctx = {
      pool: this.pool,
      tcpPool: this.tcpPool,
      health: this.health,
      slots: new Slots(o.maxInFlight),
      timeoutMs: o.timeoutMs,
      attempts: o.attempts,
      maxResponseBytes: o.limits.maxResponseBytes,
      limits: { maxAnswerRecords: o.limits.maxAnswerRecords },
      counters: { udpQueriesSent: 0, tcpQueriesSent: 0, timeouts: 0 },
    };
    this.cache = o.cache ? new TtlLruCache<AnyResult>(o.cache.maxEntries) : null;
  }

  query<T extends RecordType>(name: string, type: T, options: QueryOptions = {}): Promise<DnsResult<T>> {
    this.counters.queries++;
    const normalised = normaliseQueryName(name);
    if (normalised === null || TYPE_CODES[type] === undefined) {
      const detail =
        normalised === null ? `not a valid domain name: ${JSON.stringify(name)}` : `type ${type}`;
      return Promise.resolve({ status: 'unknown', name, type, reason: 'malformed', detail });
    }
    const flags: QueryFlags = {
      dnssecOk: options.dnssecOk === true,
      checkingDisabled: options.checkingDisabled === true,
      udpPayloadSize: this.o.udpPayloadSize,
    };
    // DO and CD change what comes back (RRSIGs, bogus data), so they are part of the key.
    const key = `${type}|${flags.dnssecOk ? 1 : 0}${flags.checkingDisabled ? 1 : 0}|${normalised}`;
    if (this.cache && options.bypassCache !== true) {
      const hit = this.cache.get(key, this.nowMs());
      if (hit) {
        this.counters.cacheHits++;
        return Promise.resolve(copyOut(hit.value, Math.ceil(hit.remainingMs / 1000)) as DnsResult<T>);
      }
    }
    const running = this.inflight.get(key);
    if (running) {
      this.counters.coalesced++;
      // Joiners get their own arrays, so sorting one result cannot reorder another's.
      return running.then((result) => copyOut(result, null) as DnsResult<T>);
    }
    const fresh = this.resolve(key, normalised, type, flags);
    this.inflight.set(key, fresh);
    return fresh as Promise<DnsResult<T>>;
  }

  stats(): DnsClientStats {
    const c = this.ctx.counters;
    return {
      ...this.counters,
      queriesSent: c.udpQueriesSent + c.tcpQueriesSent,
      udpQueriesSent: c.udpQueriesSent,
      tcpQueriesSent: c.tcpQueriesSent,
      timeouts: c.timeouts,
      cacheEntries: this.cache?.size ?? 0,
    };
  }

  downServers(): DnsServerAddress[] {
    return this.health.downServers();
  }

  clearCache(): void {
    this.cache?.clear();
  }

  close(): void {
    this.pool.close();
    this.tcpPool?.close();
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }

  /** Every resolution ends here: leave the in-flight map, fill the cache, hand out the result. */
  private finish(key: string, result: AnyResult, lifetimeSeconds: number | null): AnyResult {
    this.inflight.delete(key);
    this.store(key, result, lifetimeSeconds);
    return result;
  }

  /** TTL clamps (options.ts) applied; `unknown` only for `failureTtlSeconds`. */
  private store(key: string, result: AnyResult, lifetimeSeconds: number | null): void {
    const c = this.o.cache;
    if (!this.cache || !c) return;
    let seconds: number;
    if (result.status === 'unknown') seconds = c.failureTtlSeconds;
    else if (lifetimeSeconds === null) return;
    else {
      const max = result.status === 'answer' ? c.maxTtlSeconds : c.maxNegativeTtlSeconds;
      seconds = Math.min(max, Math.max(c.minTtlSeconds, lifetimeSeconds));
    }
    // The cache keeps its own arrays: the first caller may sort or change the ones it was given.
    if (seconds > 0) this.cache.set(key, copyOut(result, null), this.nowMs() + seconds * 1000);
  }

  /**
   * Ask, follow the chain, and ask again for the chain's end when a response stops at a CNAME
   * without records or a negative proof for its target (RFC 1034 §5.3.3). The cache lifetime is
   * the smallest TTL along the chain: the answer is only as fresh as its weakest link.
   */
  private async resolve(key: string, name: string, type: RecordType, flags: QueryFlags): Promise<AnyResult> {
    try {
      const visited = new Set([name]);
      const chain: string[] = [];
      let chainTtl = Number.POSITIVE_INFINITY;
      let authentic = true;
      const sections: DnssecSections | undefined = flags.dnssecOk ? { answer: [], authority: [] } : undefined;
      let current = name;
      for (;;) {
        const ex = await exchange(this.ctx, current, TYPE_CODES[type], flags);
        if (ex.kind === 'failure') return this.finish(key, unknown(name, type, ex.reason, ex.detail), null);
        const message = ex.message;
        authentic &&= (message.flags & FLAG_AD) !== 0;
        const step = interpret(message, current, type, visited, this.o.limits);
        if (step.kind === 'unknown')
          return this.finish(key, unknown(name, type, step.reason, step.detail), null);
        if (sections) {
          const got = sectionsOf(message);
          if (typeof got === 'string') return this.finish(key, unknown(name, type, 'malformed', got), null);
          sections.answer.push(...got.answer);
          sections.authority.push(...got.authority);
        }
        for (const link of step.chain) {
          chain.push(link.name);
          chainTtl = Math.min(chainTtl, link.ttl);
        }
        if (step.kind === 'chase') {
          const next = normaliseQueryName(step.target);
          if (next === null) {
            const detail = `CNAME target cannot be queried: ${JSON.stringify(step.target)}`;
            return this.finish(key, unknown(name, type, 'malformed', detail), null);
          }
          current = next;
          continue;
        }
        const extra = sections ? { dnssec: sections } : {};
        if (step.kind === 'answer') {
          const result: AnyResult = {
            status: 'answer',
            name,
            type,
            records: step.records as never[],
            ttlSeconds: step.ttl,
            cnameChain: chain,
            authenticData: authentic,
            ...extra,
          };
          return this.finish(key, result, Math.min(step.ttl, chainTtl));
        }
        const result: AnyResult = {
          status: step.status,
          name,
          type,
          ttlSeconds: step.ttl ?? 0,
          cnameChain: chain,
          ...extra,
        };
        return this.finish(key, result, step.ttl === null ? null : Math.min(step.ttl, chainTtl));
      }
    } catch (err) {
      // Only a bug in this library gets here; still a result, never a rejection.
      return this.finish(
        key,
        unknown(name, type, 'network', `internal error: ${(err as Error).message}`),
        null,
      );
    }
  }
}

function unknown(name: string, type: RecordType, reason: UnknownReason, detail: string): AnyResult {
  return { status: 'unknown', name, type, reason, detail };
}

/** A shallow copy with fresh arrays; `remainingSeconds` lowers the TTL of a cached result. */
function copyOut(result: AnyResult, remainingSeconds: number | null): AnyResult {
  if (result.status === 'unknown') return { ...result };
  const ttlSeconds =
    remainingSeconds === null ? result.ttlSeconds : Math.min(result.ttlSeconds, remainingSeconds);
  if (result.status === 'answer') {
    return { ...result, ttlSeconds, records: [...result.records], cnameChain: [...result.cnameChain] };
  }
  return { ...result, ttlSeconds, cnameChain: [...result.cnameChain] };
}
