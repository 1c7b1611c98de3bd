/**
 * Live events for the GraphQL `events` subscription. A message names an outbox event by id (plus
 * the domain and type, so subscribers filter without a read); the subscriber's connection loads the
 * event itself under its own tenant, so no event body, finding evidence or secret travels through
 * the emitter, and a message that reached the wrong topic still shows nothing (RLS).
 *
 * The emitter is Mercurius' own, given the shared Redis emitter of libs/queue by the container, so
 * events the worker publishes after its commits reach every API instance's subscribers.
 */
import { type LiveEventEmitter, type LiveEventRef, publishLiveEvents } from '@mailwarden/queue';

export {
  type LiveEventEmitter,
  type LiveEventRef,
  liveEventsTopic,
  publishLiveEvents,
} from '@mailwarden/queue';

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
