import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '@mailwarden/core';
import { parseEchoPayload } from '@mailwarden/queue';
import { UnrecoverableError } from 'bullmq';
import type { JobProcessor } from './processor.ts';

export interface EchoResult {
  echoed: string;
  processedAt: string;
}

/**
 * `system`/`echo`: answers with its message after an optional delay. It does nothing useful on
 * purpose; it proves that a producer, Redis and a worker are wired together, and its delay lets tests
 * hold a job in flight while the worker shuts down.
 */
export function createEchoProcessor(deps: { clock: Clock }): JobProcessor {
  return async (job, { log }): Promise<EchoResult> => {
    const parsed = parseEchoPayload(job.data);
    if (!parsed.ok) {
      // Retrying cannot fix a malformed payload: fail the job for good.
      throw new UnrecoverableError(`invalid echo payload: ${parsed.problems.join('; ')}`);
    }
    const { message, delayMs = 0 } = parsed.payload;
    if (delayMs > 0) {
      log.debug({ delayMs }, 'echo waiting');
      await sleep(delayMs);
    }
    return { echoed: message, processedAt: deps.clock.now().toISOString() };
  };
}
