/**
 * Live events for the GraphQL `events` subscription. A message names an outbox event by id (plus
 * the domain and type, so subscribers filter without a read); the subscriber's connection loads the
 * event itself under its own tenant, so no event body, finding evidence or secret travels through
 * the emitter, and a message that reached the wrong topic still shows nothing (RLS).
 *
 * The emitter is Mercurius' (mqemitter). By default it is in-process: events the API itself creates
 * (domain verification) reach this instance's subscribers. For events the worker creates, give
 * Mercurius a shared emitter (`mqemitter-redis`, not installed yet) through `subscription.emitter`
 * and have the worker call `publishLiveEvents(emitter, refs)` after each commit — same topic, same
 * message, nothing else to change.
 */
import type { EventType } from '@mailwarden/db';

export interface LiveEventRef {
  /** uuid of the tenant (the topic). */
  tenantId: string;
  /** uuid of the monitoring_events row. */
  eventId: string;
  /** uuid of the domain, or null for tenant-wide events. */
  domainId: string | null;
  type: EventType;
}

/** One topic per tenant: a subscriber only ever listens to its own. */
export function liveEventsTopic(tenantId: string): string {
  return `mw.events.${tenantId}`;
}

/** The part of an mqemitter (or Mercurius PubSub emitter) a publisher needs. */
export interface LiveEventEmitter {
  emit(message: { topic: string; payload: LiveEventRef }, callback?: (err?: unknown) => void): void;
}

/** What the worker calls after committing events (with a shared emitter; see the header). */
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

/**
 * The API's publisher. It is created with the container and bound to Mercurius' emitter once the
 * GraphQL plugin is registered; before that (or with GraphQL off) a publish is a no-op. Publishing
 * is best effort: a subscriber that misses an event finds it in `events` (the history).
 */
export interface LiveEvents {
  bind(emitter: LiveEventEmitter): void;
  publish(refs: readonly LiveEventRef[]): Promise<void>;
}

export function createLiveEvents(): LiveEvents {
  let emitter: LiveEventEmitter | null = null;
  return {
    bind(e) {
      emitter = e;
    },
    async publish(refs) {
      if (emitter) await publishLiveEvents(emitter, refs);
    },
  };
}
