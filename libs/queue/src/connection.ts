import { Redis, type RedisOptions } from 'ioredis';

/**
 * `worker`: a BullMQ Worker blocks on Redis and must survive outages, so commands wait for the
 * reconnect instead of failing (`maxRetriesPerRequest: null` is required by BullMQ for blocking
 * connections).
 *
 * `producer`: code that enqueues (API handlers, the scheduler) must learn at once that Redis is gone
 * and answer 503, instead of queueing commands in memory that a crash would lose. Hence no offline
 * queue and a bounded number of retries per command.
 */
export type ConnectionRole = 'worker' | 'producer';

export type RedisConnection = Redis;

export interface RedisConnectionOptions {
  /** Called for every connection error; ioredis reconnects on its own afterwards. */
  onError?: (err: Error) => void;
  /** Shown by `CLIENT LIST`, to tell our connections apart on the server. */
  connectionName?: string;
  /** Connect on the first command instead of at once (tools that may never touch Redis). */
  lazyConnect?: boolean;
  /**
   * Send the commands issued in one event-loop turn as one write. For a connection shared by many
   * concurrent requests (the API's rate-limit counters) this turns one syscall per request into one
   * per turn. Off for BullMQ's connections, which manage their own pipelining.
   */
  autoPipelining?: boolean;
}

/** Reconnect delay: grows with each failed attempt, never above 10 s, so an outage is not hammered. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(250 * 2 ** Math.min(attempt, 6), 10_000);
}

export function createRedisConnection(
  url: string,
  role: ConnectionRole,
  options: RedisConnectionOptions = {},
): Redis {
  const common: RedisOptions = {
    connectionName: options.connectionName ?? `mailwarden-${role}`,
    connectTimeout: 5_000,
    retryStrategy: reconnectDelayMs,
    lazyConnect: options.lazyConnect ?? false,
    enableAutoPipelining: options.autoPipelining ?? false,
  };
  const byRole: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableOfflineQueue: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false };
  const connection = new Redis(url, { ...common, ...byRole });
  // Without a listener ioredis prints every connection error to the console as "unhandled".
  connection.on('error', (err: Error) => options.onError?.(err));
  return connection;
}

/**
 * Resolves once the connection is usable. It waits only while a first connect is under way: BullMQ
 * would otherwise wait for `ready` forever, while a connection that has already failed (status
 * `reconnecting`, `close`, `end`) or fails now rejects at once, which is what fail-fast callers
 * (producers, readiness probes) need.
 */
export function waitForReady(connection: Redis, timeoutMs: number): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  if (!['wait', 'connecting', 'connect'].includes(connection.status)) {
    return Promise.reject(new Error(`redis connection is ${connection.status}`));
  }
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: Error) => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      connection.off('error', onError);
      connection.off('end', onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => settle();
    const onError = (err: Error) => settle(err);
    const onEnd = () => settle(new Error('redis connection ended'));
    const timer = setTimeout(() => settle(new Error(`redis not ready within ${timeoutMs} ms`)), timeoutMs);
    connection.on('ready', onReady);
    connection.on('error', onError);
    connection.on('end', onEnd);
    // A lazy connection (`lazyConnect`) stays in `wait` until asked; failures arrive as events above.
    if (connection.status === 'wait') connection.connect().catch(() => {});
  });
}
