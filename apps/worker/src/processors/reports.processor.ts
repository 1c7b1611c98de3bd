import type { Clock } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import { ingestRawReport, pendingRawReports } from '@mailwarden/monitoring';
import { type Producer, parseRawReportRef, parseReportJobId, queueNames } from '@mailwarden/queue';
import type { ReportLimits } from '@mailwarden/reports';
import { UnrecoverableError } from 'bullmq';
import { enqueueDispatches, type JobProcessor } from './processor.ts';
import { type ThreadParserOptions, threadParser } from './report-thread.ts';

export interface ReportProcessorDeps {
  db: Database;
  clock: Clock;
  /** Parser isolation; without it the parse runs in the worker's own thread (tests, tiny hosts). */
  parserThread?: ThreadParserOptions;
  reportLimits?: Partial<ReportLimits>;
  /** Dispatches the events a report raised, after its commit (the outbox sweeper is the backstop). */
  producer?: Producer;
}

/**
 * `reports`/`parse-report`: one committed raw report into report rows, in one transaction. A bad
 * file is recorded as failed (with its `report.*` code) and the job fails for good; a database
 * outage is thrown as is, so BullMQ retries. Idempotent: a raw report no longer pending is skipped.
 */
export function createParseReportProcessor(deps: ReportProcessorDeps): JobProcessor {
  const readEvents = deps.parserThread ? threadParser(deps.parserThread) : undefined;
  return async (job, { log }) => {
    const parsed = parseRawReportRef(job.data);
    if (!parsed.ok)
      throw new UnrecoverableError(`invalid parse-report payload: ${parsed.problems.join('; ')}`);
    const { tenantId, rawReportId } = parsed.payload;
    const result = await ingestRawReport({ db: deps.db, clock: deps.clock }, tenantId, rawReportId, {
      ...(readEvents ? { readEvents } : {}),
      ...(deps.reportLimits ? { limits: deps.reportLimits } : {}),
    });
    if (result.state === 'missing') throw new UnrecoverableError(`raw report ${rawReportId} does not exist`);
    if (result.state === 'failed' && !result.alreadyDone) {
      log.warn({ rawReportId, code: result.errorCode }, 'report refused');
      throw new UnrecoverableError(`${result.errorCode}: ${result.errorDetail ?? ''}`.slice(0, 500));
    }
    if (deps.producer)
      await enqueueDispatches(
        deps.producer,
        result.eventIds.map((eventId) => ({ tenantId, eventId })),
        log,
      );
    return {
      state: result.state,
      events: result.eventIds.length,
      aggregateReports: result.aggregateReports,
      tlsReports: result.tlsReports,
      duplicates: result.duplicates,
      quarantined: result.quarantined,
      rows: result.rows,
      failureReports: result.failureReports,
      failureReportsSkipped: result.failureReportsSkipped,
    };
  };
}

/** Raw reports committed this long ago and still pending lost their parse job. */
export const reportSweepGraceMs = 60_000;

/** Re-enqueues parse jobs of pending raw reports (crash between commit and enqueue, Redis emptied). */
export async function sweepPendingReports(deps: { db: Database; producer: Producer; clock: Clock }) {
  const now = deps.clock.now();
  const pending = await pendingRawReports(deps.db, new Date(now.getTime() - reportSweepGraceMs), 1_000);
  // A sweep suffix, so a failed job of the same id still kept in Redis does not swallow it.
  await deps.producer.enqueueBulk(
    queueNames.reports,
    pending.map((p) => ({
      name: 'parse-report' as const,
      payload: p,
      jobId: `${parseReportJobId(p.rawReportId)}.sweep.${Math.floor(now.getTime() / 60_000)}`,
    })),
  );
  return pending.length;
}
