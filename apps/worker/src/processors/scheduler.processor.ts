import type { Clock, Logger } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import { createOfferedChecks, runSchedulerTick } from '@mailwarden/monitoring';
import { dispatchEventJob, type Producer, queueNames } from '@mailwarden/queue';
import { sql } from 'drizzle-orm';
import type { JobProcessor } from './processor.ts';
import { sweepPendingReports } from './reports.processor.ts';

/** Events older than this without deliveries were missed by their enqueue-after-commit. */
export const outboxGraceMs = 30_000;

export interface SchedulerDeps {
  db: Database;
  producer: Producer;
  clock: Clock;
}

/** `scheduler`/`tick`: what is due in Postgres becomes jobs in Redis (idempotent by job id). */
export function createTickProcessor(deps: SchedulerDeps): JobProcessor {
  // Work still waiting or running from earlier ticks is not offered again for a minute.
  const offered = createOfferedChecks();
  return async (_job, { log }) => {
    const result = await runSchedulerTick(deps.db, deps.producer, deps.clock.now(), undefined, offered);
    if (result.due > 0) log.debug(result, 'scheduler tick');
    return result;
  };
}

/**
 * `scheduler`/`sweep-outbox`: re-enqueues events whose dispatch was lost (a crash between commit
 * and enqueue, or Redis emptied) and deliveries whose delayed retry job disappeared with Redis.
 */
export function createSweepProcessor(deps: SchedulerDeps): JobProcessor {
  return async (_job, { log }) => {
    const now = deps.clock.now();
    const events = await deps.db.execute<{ tenant_id: string; event_id: string }>(
      sql`select tenant_id, event_id from mailwarden_pending_events(${new Date(now.getTime() - outboxGraceMs).toISOString()}::timestamptz, 1000)`,
    );
    const deliveries = await deps.db.execute<{ tenant_id: string; delivery_id: string }>(
      sql`select tenant_id, delivery_id from mailwarden_due_deliveries(${new Date(now.getTime() - outboxGraceMs).toISOString()}::timestamptz, 1000)`,
    );
    await deps.producer.enqueueBulk(
      queueNames.webhooks,
      events.rows.map((r) => dispatchEventJob({ tenantId: r.tenant_id, eventId: r.event_id })),
    );
    // A delivery's attempt jobs are named by attempt number; the sweep uses its own suffix so it is
    // not swallowed by a finished attempt job of the same id still kept in Redis.
    await deps.producer.enqueueBulk(
      queueNames.webhooks,
      deliveries.rows.map((r) => ({
        name: 'deliver' as const,
        payload: { tenantId: r.tenant_id, deliveryId: r.delivery_id },
        jobId: `dlv.${r.delivery_id}.sweep.${Math.floor(now.getTime() / 60_000)}`,
      })),
    );
    const reports = await sweepPendingReports(deps);
    const found = { events: events.rows.length, deliveries: deliveries.rows.length, reports };
    if (found.events + found.deliveries + found.reports > 0)
      log.info(found, 'outbox sweep re-enqueued lost work');
    return found;
  };
}

/** `scheduler`/`purge-history`: each tenant's retention. */
export function createPurgeProcessor(deps: SchedulerDeps & { log?: Logger }): JobProcessor {
  return async (_job, { log }) => {
    const result = await deps.db.execute<{ removed: string }>(
      sql`select mailwarden_purge_history(${deps.clock.now().toISOString()}::timestamptz) as removed`,
    );
    const removed = Number(result.rows[0]?.removed ?? 0);
    if (removed > 0) log.info({ removed }, 'retention purge');
    return { removed };
  };
}
