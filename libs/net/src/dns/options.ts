/**
 * Client settings and their defaults, each with the reason for its value.
 */
import type { Clock } from '@mailwarden/core';
import type { DnsServerAddress } from './servers.ts';

export interface DnsCacheOptions {
  /**
   * Entries kept (CLOCK eviction, near-LRU: cache.ts). Default 20 000: a few scans' worth of
   * names, a few tens of MB at most.
   */
  maxEntries?: number;
  /** Lower TTL clamp, seconds. Default 0: TTL 0 means "do not cache" and we respect it. */
  minTtlSeconds?: number;
  /**
   * Upper TTL clamp, seconds. Default 3600: a monitor must notice a changed record within the
   * hour even when the zone advertises a day.
   */
  maxTtlSeconds?: number;
  /** Upper clamp for NXDOMAIN/NODATA, seconds. Default 900 (RFC 2308 §5 allows hours; we monitor). */
  maxNegativeTtlSeconds?: number;
  /**
   * How long an `unknown` is remembered, seconds. Default 0: a failure is transient by nature and
   * must not outlive the attempt that saw it; dead servers are handled by health back-off and
   * stampedes by coalescing instead. Production may set a few seconds (RFC 9520 §3.2).
   */
  failureTtlSeconds?: number;
}

export interface DnsLimits {
  /** Largest response accepted over UDP or TCP, bytes. Default 32 768 (real answers stay well under). */
  maxResponseBytes?: number;
  /** Most records in an answer section. Default 256. */
  maxAnswerRecords?: number;
  /** Most TXT RDATA bytes in one RRset. Default 16 384 (large SPF/DKIM sets are a few KB). */
  maxTxtBytes?: number;
  /** Most CNAMEs followed for one question. Default 8. */
  maxCnameChain?: number;
}

export interface DnsClientOptions {
  /** Upstream recursive resolvers, in order of preference. */
  servers: DnsServerAddress[];
  /** Per attempt, milliseconds. Default 1500. */
  timeoutMs?: number;
  /** Attempts per question across servers. Default: one per server plus one retry. */
  attempts?: number;
  /** Time for TTLs and back-off; tests inject `manualClock()`. */
  clock?: Clock;
  /** `false` disables caching (coalescing of in-flight queries stays). */
  cache?: DnsCacheOptions | false;
  limits?: DnsLimits;
  /** EDNS0 payload size advertised. Default 1232 (the DNS flag day 2020 value, avoids fragmentation). */
  udpPayloadSize?: number;
  /** Back-off of a failing server: doubles from `baseMs` to `maxMs`. Defaults 1000 / 30 000. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Connected UDP sockets per upstream server. Default 4. */
  socketsPerServer?: number;
  /** Queries before a socket is replaced by one on a fresh random port. Default 512. */
  maxQueriesPerSocket?: number;
  /**
   * Most queries on the wire at once; more wait their turn. Default 4096: bounds bursts that would
   * overrun socket buffers, yet leaves room for black-holed names holding slots until timeout.
   */
  maxInFlight?: number;
  /**
   * `udp` (default): UDP, TCP only after a truncated answer (RFC 7766 §5). `tcp`: every query on
   * a persistent pipelined TCP connection per server (RFC 7766 §6.2.1.1) — no spoofing window, no
   * truncation round trip, and far fewer syscalls per query; for upstreams known to handle it.
   */
  transport?: 'udp' | 'tcp';
  /** Pipelined TCP: close a connection after this long without queries (RFC 7766 §6.2.3). Default 10 000. */
  tcpIdleTimeoutMs?: number;
}

export interface ResolvedOptions {
  servers: DnsServerAddress[];
  timeoutMs: number;
  attempts: number;
  clock: Clock;
  cache: Required<DnsCacheOptions> | null;
  limits: Required<DnsLimits>;
  udpPayloadSize: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  socketsPerServer: number;
  maxQueriesPerSocket: number;
  maxInFlight: number;
  transport: 'udp' | 'tcp';
  tcpIdleTimeoutMs: number;
}

export function resolveOptions(options: DnsClientOptions, systemClock: Clock): ResolvedOptions {
  const cache =
    options.cache === false
      ? null
      : {
          maxEntries: options.cache?.maxEntries ?? 20_000,
          minTtlSeconds: options.cache?.minTtlSeconds ?? 0,
          maxTtlSeconds: options.cache?.maxTtlSeconds ?? 3600,
          maxNegativeTtlSeconds: options.cache?.maxNegativeTtlSeconds ?? 900,
          failureTtlSeconds: options.cache?.failureTtlSeconds ?? 0,
        };
  return {
    servers: [...options.servers],
    timeoutMs: options.timeoutMs ?? 1500,
    attempts: Math.max(1, options.attempts ?? options.servers.length + 1),
    clock: options.clock ?? systemClock,
    cache,
    limits: {
      maxResponseBytes: options.limits?.maxResponseBytes ?? 32_768,
      maxAnswerRecords: options.limits?.maxAnswerRecords ?? 256,
      maxTxtBytes: options.limits?.maxTxtBytes ?? 16_384,
      maxCnameChain: options.limits?.maxCnameChain ?? 8,
    },
    udpPayloadSize: options.udpPayloadSize ?? 1232,
    backoffBaseMs: options.backoff?.baseMs ?? 1000,
    backoffMaxMs: options.backoff?.maxMs ?? 30_000,
    socketsPerServer: Math.max(1, options.socketsPerServer ?? 4),
    maxQueriesPerSocket: Math.max(1, options.maxQueriesPerSocket ?? 512),
    maxInFlight: Math.max(1, options.maxInFlight ?? 4096),
    transport: options.transport ?? 'udp',
    tcpIdleTimeoutMs: options.tcpIdleTimeoutMs ?? 10_000,
  };
}
