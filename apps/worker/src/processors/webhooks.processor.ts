import type { WebhooksService } from '@mailwarden/alerts';
import type { Clock } from '@mailwarden/core';
import {
  dispatchEventJob,
  type Producer,
  parseDeliveryRef,
  parseEndpointRef,
  parseEventRef,
  queueNames,
} from '@mailwarden/queue';
import { UnrecoverableError } from 'bullmq';
import type { JobProcessor } from './processor.ts';

export interface WebhookProcessorDeps {
  webhooks: Pick<WebhooksService, 'dispatchEvent' | 'attemptDelivery' | 'sendDigest'>;
  producer: Producer;
  clock: Clock;
}

/** `webhooks`/`dispatch-event`: outbox event → deliveries, each attempted at once. */
export function createDispatchProcessor(deps: WebhookProcessorDeps): JobProcessor {
  return async (job) => {
    const parsed = parseEventRef(job.data);
    if (!parsed.ok) throw new UnrecoverableError(`invalid dispatch payload: ${parsed.problems.join('; ')}`);
    const { tenantId } = parsed.payload;
    const deliveries = await deps.webhooks.dispatchEvent(tenantId, parsed.payload.eventId);
    await deps.producer.enqueueBulk(
      queueNames.webhooks,
      deliveries.map((deliveryId) => ({
        name: 'deliver' as const,
        payload: { tenantId, deliveryId },
        jobId: `dlv.${deliveryId}.0`,
      })),
    );
    return { deliveries: deliveries.length };
  };
}

/**
 * `webhooks`/`deliver`: one attempt. The retry is a new delayed job (its id names the attempt, so
 * a redone job does not schedule twice); Postgres keeps `next_attempt_at`, so a retry lost with
 * Redis is found again by the sweeper.
 */
export function createDeliverProcessor(deps: WebhookProcessorDeps): JobProcessor {
  return async (job) => {
    const parsed = parseDeliveryRef(job.data);
    if (!parsed.ok) throw new UnrecoverableError(`invalid deliver payload: ${parsed.problems.join('; ')}`);
    const { tenantId, deliveryId } = parsed.payload;
    const result = await deps.webhooks.attemptDelivery(tenantId, deliveryId);
    if (result.retryAt) {
      const delayMs = Math.max(0, result.retryAt.getTime() - deps.clock.now().getTime());
      await deps.producer.enqueueBulk(queueNames.webhooks, [
        {
          name: 'deliver' as const,
          payload: { tenantId, deliveryId },
          jobId: `dlv.${deliveryId}.${result.retryAt.getTime()}`,
          delayMs,
        },
      ]);
    }
    if (result.disabledEventId) {
      await deps.producer.enqueueBulk(queueNames.webhooks, [
        dispatchEventJob({ tenantId, eventId: result.disabledEventId }),
      ]);
    }
    return { state: result.state, retryAt: result.retryAt?.toISOString() ?? null };
  };
}

/** `webhooks`/`send-digest`: the daily digest of one e-mail endpoint. */
export function createDigestProcessor(deps: WebhookProcessorDeps): JobProcessor {
  return async (job) => {
    const parsed = parseEndpointRef(job.data);
    if (!parsed.ok) throw new UnrecoverableError(`invalid digest payload: ${parsed.problems.join('; ')}`);
    return { events: await deps.webhooks.sendDigest(parsed.payload.tenantId, parsed.payload.endpointId) };
  };
}
