import type { Clock, Logger } from '@mailwarden/core';
import type { Redis } from 'ioredis';

/**
 * A small in-process cache of per-request authentication lookups (sessions, API keys), so a busy
 * client does not cost a database round trip per request. Entries live `ttlMs` at most.
 *
 * Revocation must stop a credential at once (issue 3), on every API instance, so:
 *
 * - an invalidation (revoked session or key, removed member, changed role or tenant settings)
 *   drops the entries in this process immediately and is published on a Redis channel that every
 *   other instance applies as soon as it arrives (`createRedisAuthCacheBus`);
 * - while an instance is not subscribed (starting, Redis down, reconnecting) it caches nothing
 *   and reads every check from Postgres: a missed invalidation can then never be served stale;
 * - `epoch` counts invalidations: a lookup passes the epoch it read before its database query to
 *   `set`, and a result is not cached when an invalidation came in meanwhile (a read that raced a
 *   revocation would otherwise cache the row from before it for a whole TTL).
 *
 * The TTL is the backstop only for a message lost while the subscription was up (docs/decisions/0003).
 */
export interface CacheFilter {
  tenantId?: string;
  userId?: string;
}

export interface AuthCache<V> {
  /** Bumped by every invalidation, local or remote. */
  readonly epoch: number;
  get(key: string): V | undefined;
  /** Caches `value` unless an invalidation happened after `readAtEpoch` (see above). */
  set(key: string, value: V, readAtEpoch: number): void;
  delete(key: string): void;
  /** Drops every entry whose fields equal all of `filter`'s (e.g. all sessions of a user in a tenant). */
  deleteWhere(filter: CacheFilter): void;
  clear(): void;
}

/** What travels on the channel: which cache, and a key or a filter. */
export type CacheInvalidation =
  | { cache: string; op: 'delete'; key: string }
  | { cache: string; op: 'deleteWhere'; filter: CacheFilter }
  | { cache: string; op: 'clear' };

export interface AuthCacheBus {
  /** True while invalidations from other instances are being received. */
  readonly live: boolean;
  /** Starts the subscription (idempotent); caches call it on first use. */
  start(): void;
  publish(message: CacheInvalidation): void;
  /** Receives the invalidations for `cache`, and a `clear` whenever the bus goes dark or live. */
  register(cache: string, apply: (message: CacheInvalidation) => void): void;
  close(): void;
}

const matches = (value: unknown, filter: CacheFilter) => {
  const v = value as CacheFilter;
  return (
    (filter.tenantId === undefined || v.tenantId === filter.tenantId) &&
    (filter.userId === undefined || v.userId === filter.userId)
  );
};

export function createAuthCache<V>(
  clock: Clock,
  ttlMs: number,
  options: { name?: string; bus?: AuthCacheBus; maxEntries?: number } = {},
): AuthCache<V> {
  const { bus, maxEntries = 10_000 } = options;
  const name = options.name ?? 'cache';
  const entries = new Map<string, { value: V; expiresAtMs: number }>();
  let epoch = 0;

  const apply = (message: CacheInvalidation) => {
    epoch++;
    if (message.op === 'delete') entries.delete(message.key);
    else if (message.op === 'clear') entries.clear();
    else for (const [key, entry] of entries) if (matches(entry.value, message.filter)) entries.delete(key);
  };
  bus?.register(name, apply);
  const invalidate = (message: CacheInvalidation) => {
    apply(message);
    bus?.publish(message);
  };
  const usable = () => {
    if (ttlMs <= 0) return false;
    if (!bus) return true;
    bus.start();
    return bus.live;
  };

  return {
    get epoch() {
      return epoch;
    },
    get(key) {
      if (!usable()) return undefined;
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAtMs <= clock.now().getTime()) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value, readAtEpoch) {
      if (!usable() || readAtEpoch !== epoch) return;
      // Oldest first out: Map iteration order is insertion order.
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(key, { value, expiresAtMs: clock.now().getTime() + ttlMs });
    },
    delete(key) {
      invalidate({ cache: name, op: 'delete', key });
    },
    deleteWhere(filter) {
      invalidate({ cache: name, op: 'deleteWhere', filter: { ...filter } });
    },
    clear() {
      invalidate({ cache: name, op: 'clear' });
    },
  };
}

/** Parses a channel message; anything malformed becomes a `clear` of every cache (the safe side). */
export function parseCacheInvalidation(payload: string): CacheInvalidation | { cache: '*'; op: 'clear' } {
  const bad = { cache: '*', op: 'clear' } as const;
  if (payload.length > 1024) return bad;
  try {
    const m = JSON.parse(payload) as Record<string, unknown>;
    if (typeof m.cache !== 'string') return bad;
    if (m.op === 'delete' && typeof m.key === 'string') return { cache: m.cache, op: 'delete', key: m.key };
    if (m.op === 'clear') return { cache: m.cache, op: 'clear' };
    const f = m.filter as Record<string, unknown> | undefined;
    if (m.op === 'deleteWhere' && f && typeof f === 'object') {
      const filter: CacheFilter = {};
      if (typeof f.tenantId === 'string') filter.tenantId = f.tenantId;
      if (typeof f.userId === 'string') filter.userId = f.userId;
      // An empty filter would match everything: fine, that is a clear.
      return { cache: m.cache, op: 'deleteWhere', filter };
    }
  } catch {
    // fall through
  }
  return bad;
}

/**
 * Invalidations over Redis pub/sub. Publishing uses the app's connection; receiving needs a
 * connection of its own (a subscribed connection can do nothing else), opened on first use so that
 * building the services (the OpenAPI generator, the CLI) opens no socket.
 */
export function createRedisAuthCacheBus(deps: {
  redis: Redis;
  channel: string;
  logger?: Pick<Logger, 'warn'>;
  /** Shown in CLIENT LIST, so an operator can tell this connection from the app's. */
  connectionName?: string;
}): AuthCacheBus {
  const handlers = new Map<string, (message: CacheInvalidation) => void>();
  let subscriber: Redis | undefined;
  let live = false;
  let closed = false;
  let lastWarnMs = 0;
  const warn = (err: unknown, msg: string) => {
    // One line a minute at most: a Redis outage must not flood the log from every request.
    if (Date.now() - lastWarnMs < 60_000) return;
    lastWarnMs = Date.now();
    deps.logger?.warn({ err }, msg);
  };
  const clearAll = () => {
    for (const [cache, apply] of handlers) apply({ cache, op: 'clear' });
  };
  const setLive = (value: boolean) => {
    if (live === value) return;
    live = value;
    // Going dark: messages may be lost from now on. Going live: reads that began while dark
    // might have missed one. Either way, nothing cached so far may be trusted.
    clearAll();
  };

  return {
    get live() {
      return live;
    },
    start() {
      if (subscriber || closed) return;
      const sub = deps.redis.duplicate({
        lazyConnect: true,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        connectionName: deps.connectionName ?? 'mailwarden-auth-cache',
      });
      subscriber = sub;
      sub.on('error', (err: Error) => warn(err, 'auth cache invalidation channel: redis error'));
      sub.on('close', () => setLive(false));
      sub.on('ready', () => {
        sub.subscribe(deps.channel).then(
          () => {
            if (!closed && sub.status === 'ready') setLive(true);
          },
          (err: unknown) => warn(err, 'auth cache invalidation channel: subscribe failed'),
        );
      });
      sub.on('message', (channel: string, payload: string) => {
        if (channel !== deps.channel) return;
        const message = parseCacheInvalidation(payload);
        if (message.cache === '*') clearAll();
        else handlers.get(message.cache)?.(message);
      });
      sub.connect().catch((err: unknown) => warn(err, 'auth cache invalidation channel: connect failed'));
    },
    publish(message) {
      if (closed) return;
      deps.redis
        .publish(deps.channel, JSON.stringify(message))
        .catch((err: unknown) => warn(err, 'auth cache invalidation not published'));
    },
    register(cache, apply) {
      handlers.set(cache, apply);
    },
    close() {
      closed = true;
      live = false;
      subscriber?.disconnect();
    },
  };
}
