import type { Clock, Logger } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import {
  checkJobId,
  createRunRecorder,
  type FamilyRunners,
  type RunCheckSummary,
  type RunRecorder,
  runCheckJob,
} from '@mailwarden/monitoring';
import {
  type CheckFamilyName,
  familyQueues,
  type LiveEventEmitter,
  type Producer,
  parseRunCheckPayload,
  parseRunChecksPayload,
  publishLiveEvents,
  type RunCheckPayload,
} from '@mailwarden/queue';
import { UnrecoverableError } from 'bullmq';
import { enqueueDispatches, type JobProcessor } from './processor.ts';

export interface CheckProcessorDeps {
  db: Database;
  runners: FamilyRunners;
  producer: Producer;
  clock: Clock;
  /** Publishes to GraphQL subscribers through Redis (best effort: the history has every event). */
  live?: LiveEventEmitter;
  /**
   * Checks (names) of a family running at once in this process, over all its jobs; unbounded if
   * absent. Only the checks count, not the recording of their results.
   */
  concurrency?: Partial<Record<CheckFamilyName, number>>;
  /** Loads options and records runs; by default one recorder of the process over `db` (tests replace it). */
  recorder?: RunRecorder;
  /** Told what each job recorded, once its runs are committed (the worker counts them in metrics). */
  onRunsRecorded?: (family: CheckFamilyName, runs: { runs: number; stored: number; skipped: number }) => void;
}

/** At most `limit` of the functions handed in run at once; the others wait in order. */
function createLimiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next in line, or is given back.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/**
 * `checks-<family>`: `run-checks` runs a batch of names of one family (the tick's and scan-now's
 * jobs), `run-check` one name (jobs queued by earlier versions). Each name is checked once and
 * recorded for every watcher; the runs of all jobs of the process are recorded together (one
 * recorder per process, batching per tenant). Events are enqueued for dispatch only after their
 * transactions committed (DESIGN.md §5); if this process dies in between, the outbox sweeper finds
 * them.
 */
export function createCheckProcessors(deps: CheckProcessorDeps): {
  runCheck: JobProcessor;
  runChecks: JobProcessor;
} {
  // One per process: the runs of concurrent jobs are recorded in batches per tenant (group commit).
  const recorder = deps.recorder ?? createRunRecorder({ db: deps.db });
  const limiters = new Map<CheckFamilyName, <T>(fn: () => Promise<T>) => Promise<T>>();
  function limited(family: CheckFamilyName) {
    let limiter = limiters.get(family);
    if (!limiter) {
      limiter = createLimiter(deps.concurrency?.[family] ?? Number.POSITIVE_INFINITY);
      limiters.set(family, limiter);
    }
    return limiter;
  }
  // The limit holds the checks themselves (what resolvers and probed servers see); option loads
  // and recording wait on Postgres without taking a slot, so the checks keep running meanwhile.
  const check = (payload: RunCheckPayload) =>
    runCheckJob(payload, {
      db: deps.db,
      runners: deps.runners,
      clock: deps.clock,
      recorder,
      limit: limited(payload.family),
    });

  /** After the commits: dispatch jobs for the events that alert, live messages for all. */
  async function announce(summaries: readonly RunCheckSummary[], log: Logger): Promise<number> {
    const events = summaries.flatMap((s) => s.events);
    await enqueueDispatches(deps.producer, events, log);
    const live = summaries.flatMap((s) => s.live);
    if (deps.live && live.length > 0) {
      // One message per event, all sent at once (one write: the publisher pipelines), to the
      // tenants someone subscribes to.
      await publishLiveEvents(deps.live, live).catch((err: unknown) =>
        log.warn({ err }, 'live events not published'),
      );
    }
    return events.length;
  }

  function totals(summaries: readonly RunCheckSummary[]) {
    let runs = 0;
    let stored = 0;
    let skipped = 0;
    for (const s of summaries) {
      runs += s.runs;
      stored += s.stored;
      skipped += s.skipped;
    }
    return { runs, stored, skipped };
  }

  const runCheck: JobProcessor = async (job, { log }) => {
    const parsed = parseRunCheckPayload(job.data);
    if (!parsed.ok) throw new UnrecoverableError(`invalid run-check payload: ${parsed.problems.join('; ')}`);
    const summary = await check(parsed.payload);
    const events = await announce([summary], log);
    const counted = totals([summary]);
    deps.onRunsRecorded?.(parsed.payload.family, counted);
    return { ...counted, events };
  };

  const runChecks: JobProcessor = async (job, { log }) => {
    const parsed = parseRunChecksPayload(job.data);
    if (!parsed.ok) throw new UnrecoverableError(`invalid run-checks payload: ${parsed.problems.join('; ')}`);
    const { family, checks } = parsed.payload;
    const settled = await Promise.allSettled(checks.map(check));
    const done: RunCheckSummary[] = [];
    const doneIds: string[] = [];
    const failed: RunCheckPayload[] = [];
    let firstError: unknown;
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        done.push(result.value);
        doneIds.push(checkJobId(checks[i]!));
      } else {
        failed.push(checks[i]!);
        firstError ??= result.reason;
      }
    });
    const events = await announce(done, log);
    const counted = totals(done);
    deps.onRunsRecorded?.(family, counted);
    // Stored: their claims are no longer needed (a claim left behind only expires later).
    await deps.producer
      .releaseChecks(familyQueues[family], doneIds)
      .catch((err: unknown) => log.warn({ err }, 'check claims not released; they expire'));
    if (failed.length > 0) {
      // The retry redoes only what failed (what was stored would store nothing again anyway).
      await job
        .updateData({ family, checks: failed })
        .catch((err: unknown) => log.warn({ err }, 'batch not narrowed to its failed checks'));
      log.warn({ failed: failed.length, of: checks.length }, 'checks of the batch failed');
      throw firstError;
    }
    return { checks: checks.length, ...counted, events };
  };

  return { runCheck, runChecks };
}
