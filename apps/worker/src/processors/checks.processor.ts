import type { Clock } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import { createRunRecorder, type FamilyRunners, runCheckJob } from '@mailwarden/monitoring';
import {
  dispatchEventJob,
  type LiveEventEmitter,
  type Producer,
  parseRunCheckPayload,
  publishLiveEvents,
  queueNames,
} from '@mailwarden/queue';
import { UnrecoverableError } from 'bullmq';
import type { JobProcessor } from './processor.ts';

/**
 * `checks-<family>`/`run-check`: runs one family for one name and records it for every watcher.
 * Events are enqueued for dispatch only after their transactions committed (DESIGN.md §5); if this
 * process dies in between, the outbox sweeper finds them.
 */
export function createRunCheckProcessor(deps: {
  db: Database;
  runners: FamilyRunners;
  producer: Producer;
  clock: Clock;
  /** Publishes to GraphQL subscribers through Redis (best effort: the history has every event). */
  live?: LiveEventEmitter;
}): JobProcessor {
  // One per process: the runs of concurrent jobs are recorded in batches per tenant (group commit).
  const recorder = createRunRecorder({ db: deps.db });
  return async (job, { log }) => {
    const parsed = parseRunCheckPayload(job.data);
    if (!parsed.ok) throw new UnrecoverableError(`invalid run-check payload: ${parsed.problems.join('; ')}`);
    const summary = await runCheckJob(parsed.payload, {
      db: deps.db,
      runners: deps.runners,
      clock: deps.clock,
      recorder,
    });
    if (summary.events.length > 0) {
      await deps.producer
        .enqueueBulk(queueNames.webhooks, summary.events.map(dispatchEventJob))
        .catch((err: unknown) =>
          log.warn(
            { err, events: summary.events.length },
            'dispatch enqueue failed; the sweeper will pick them up',
          ),
        );
    }
    if (deps.live && summary.live.length > 0) {
      const live = deps.live;
      // One message per event, all sent at once rather than each after the previous one's reply.
      await Promise.all(summary.live.map((ref) => publishLiveEvents(live, [ref]))).catch((err: unknown) =>
        log.warn({ err }, 'live events not published'),
      );
    }
    return {
      runs: summary.runs,
      stored: summary.stored,
      skipped: summary.skipped,
      events: summary.events.length,
    };
  };
}
