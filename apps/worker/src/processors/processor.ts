import type { Logger } from '@mailwarden/core';
import type { JobNameOf, QueueName } from '@mailwarden/queue';
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
