import type { Logger } from '@mailwarden/core';
import {
  dispatchEventJob,
  type EventRef,
  type JobNameOf,
  type Producer,
  type QueueName,
  queueNames,
} from '@mailwarden/queue';
import type { Job } from 'bullmq';

export interface JobContext {
  /** A child logger carrying jobId, queue and job name. */
  log: Logger;
}

/**
 * One job kind's handler. `job.data` is untrusted (it comes back from Redis, possibly from an older
 * producer): the processor validates it and throws `UnrecoverableError` for input that can never
 * succeed, so BullMQ does not spend retries on it. The return value is stored as the job's result.
 */
export type JobProcessor = (job: Job<unknown>, ctx: JobContext) => Promise<unknown>;

/** A processor for every job of every queue; a missing one is a compile error. */
export type ProcessorMap = { [Q in QueueName]: { [N in JobNameOf<Q>]: JobProcessor } };

/**
 * Hands events a job has just committed to the webhook dispatcher. A failed enqueue only warns: the
 * events are in the outbox, and the outbox sweep enqueues what is still undispatched.
 */
export async function enqueueDispatches(
  producer: Producer,
  events: readonly EventRef[],
  log: Logger,
): Promise<void> {
  if (events.length === 0) return;
  await producer
    .enqueueBulk(queueNames.webhooks, events.map(dispatchEventJob))
    .then(() => undefined)
    .catch((err: unknown) =>
      log.warn({ err, events: events.length }, 'dispatch enqueue failed; the sweeper will'),
    );
}
