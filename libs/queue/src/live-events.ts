/**
 * Live events for the GraphQL `events` subscription, across processes: the worker (which creates
 * most events) and the API (which serves subscribers) share a Redis pub/sub emitter
 * (mqemitter-redis, the one Mercurius subscribes through). A message names an outbox event by id
 * plus its domain and type; the subscriber's connection loads the event under its own tenant, so no
 * event body, evidence or secret travels through Redis, and a message on the wrong topic shows
 * nothing (RLS).
 */
import { Redis } from 'ioredis';
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
  /**
   * Of these topics, the ones someone subscribes to now. Without it every event is sent; with it,
   * events nobody listens to are not (a sweep writes thousands; a subscriber that joins a moment
   * later would not have seen them either).
   */
  listening?(topics: readonly string[]): Promise<Set<string>>;
}

/** Sends every ref (one message each) at once, in order, to the tenants somebody listens to. */
export async function publishLiveEvents(
  emitter: LiveEventEmitter,
  refs: readonly LiveEventRef[],
): Promise<void> {
  if (refs.length === 0) return;
  let heard: Set<string> | undefined;
  if (emitter.listening)
    heard = await emitter.listening([...new Set(refs.map((r) => liveEventsTopic(r.tenantId)))]);
  await Promise.all(
    refs.map((ref) => {
      const topic = liveEventsTopic(ref.tenantId);
      if (heard && !heard.has(topic)) return undefined;
      return new Promise<void>((resolve, reject) =>
        emitter.emit({ topic, payload: ref }, (err) => (err ? reject(err) : resolve())),
      );
    }),
  );
}

export type RedisLiveEmitter = ReturnType<typeof mqemitterRedis> & {
  closeAsync(): Promise<void>;
  listening(topics: readonly string[]): Promise<Set<string>>;
};

/**
 * The shared emitter (its own two Redis connections: one publishes, one subscribes). The publishing
 * one pipelines: what a check job publishes in one turn of the event loop (every event of its
 * runs) leaves as one write, not one per event. (mqemitter-redis asks for auto-pipelining itself,
 * but drops the option when given a connection string.)
 */
export function createRedisLiveEmitter(redisUrl: string): RedisLiveEmitter {
  const emitter = mqemitterRedis({
    connectionString: redisUrl,
    pubConn: new Redis(redisUrl, { enableAutoPipelining: true }),
  }) as RedisLiveEmitter;
  // Connection errors are retried by ioredis; without a listener they would crash the process.
  (emitter as unknown as { state: { on(e: string, f: (err: unknown) => void): void } }).state.on(
    'error',
    () => {},
  );
  const conns = emitter as unknown as {
    subConn: { status: string; disconnect(): void };
    pubConn: Redis;
  };
  // Subscribers of every API instance, as Redis counts them (mqemitter-redis subscribes to a topic
  // without wildcards under its own name).
  emitter.listening = async (topics) => {
    const counts = (await conns.pubConn.call('PUBSUB', 'NUMSUB', ...topics)) as (string | number)[];
    const heard = new Set<string>();
    for (let i = 0; i + 1 < counts.length; i += 2)
      if (Number(counts[i + 1]) > 0) heard.add(String(counts[i]));
    return heard;
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
