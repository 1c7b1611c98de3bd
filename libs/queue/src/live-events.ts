/**
 * Live events for the GraphQL `events` subscription, across processes: the worker (which creates
 * most events) and the API (which serves subscribers) share a Redis pub/sub emitter
 * (mqemitter-redis, the one Mercurius subscribes through). A message names an outbox event by id
 * plus its domain and type; the subscriber's connection loads the event under its own tenant, so no
 * event body, evidence or secret travels through Redis, and a message on the wrong topic shows
 * nothing (RLS).
 */
import mqemitterRedis from 'mqemitter-redis';

export interface LiveEventRef {
  /** uuid of the tenant (the topic). */
  tenantId: string;
  /** uuid of the monitoring_events row. */
  eventId: string;
  /** uuid of the domain, or null for tenant-wide events. */
  domainId: string | null;
  type: string;
}

/** One topic per tenant: a subscriber only ever listens to its own. */
export function liveEventsTopic(tenantId: string): string {
  return `mw.events.${tenantId}`;
}

/** The part of an mqemitter a publisher needs. */
export interface LiveEventEmitter {
  emit(message: { topic: string; payload: LiveEventRef }, callback?: (err?: unknown) => void): void;
}

export async function publishLiveEvents(
  emitter: LiveEventEmitter,
  refs: readonly LiveEventRef[],
): Promise<void> {
  for (const ref of refs) {
    await new Promise<void>((resolve, reject) =>
      emitter.emit({ topic: liveEventsTopic(ref.tenantId), payload: ref }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
}

export type RedisLiveEmitter = ReturnType<typeof mqemitterRedis> & { closeAsync(): Promise<void> };

/** The shared emitter (its own two Redis connections: one publishes, one subscribes). */
export function createRedisLiveEmitter(redisUrl: string): RedisLiveEmitter {
  const emitter = mqemitterRedis({ connectionString: redisUrl }) as RedisLiveEmitter;
  // Connection errors are retried by ioredis; without a listener they would crash the process.
  (emitter as unknown as { state: { on(e: string, f: (err: unknown) => void): void } }).state.on(
    'error',
    () => {},
  );
  const conns = emitter as unknown as {
    subConn: { status: string; disconnect(): void };
    pubConn: { status: string; disconnect(): void };
  };
  emitter.closeAsync = () =>
    new Promise<void>((resolve) => {
      const drop = () => {
        conns.subConn.disconnect();
        conns.pubConn.disconnect();
        resolve();
      };
      // A connection that never came up (Redis down) would hold a graceful close forever.
      if (conns.subConn.status !== 'ready' || conns.pubConn.status !== 'ready') return drop();
      const timer = setTimeout(drop, 2_000);
      emitter.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  return emitter;
}
