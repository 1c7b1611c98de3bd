import type { Clock } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import { dueReportMailboxes, type MailboxPoller } from '@mailwarden/monitoring';
import { mailboxPollJobId, type Producer, parseMailboxRef, queueNames } from '@mailwarden/queue';
import { UnrecoverableError } from 'bullmq';
import { enqueueDispatches, type JobProcessor } from './processor.ts';

/** Mailboxes enqueued by one tick at most; the rest are due at the next one. */
export const maxMailboxesPerTick = 1_000;

/**
 * `scheduler`/`poll-mailboxes` (every minute): the report mailboxes due in Postgres become one
 * `poll-mailbox` job each, with the id `imap.<mailbox>.<minute>`, so two ticks of one minute (two
 * workers, a retried tick) collapse into one job. Redis emptied: the next tick rebuilds it.
 */
export function createMailboxTickProcessor(deps: {
  db: Database;
  producer: Producer;
  clock: Clock;
}): JobProcessor {
  return async (_job, { log }) => {
    const now = deps.clock.now();
    const due = await dueReportMailboxes(deps.db, now, maxMailboxesPerTick);
    const slot = Math.floor(now.getTime() / 60_000);
    await deps.producer.enqueueBulk(
      queueNames.reportMailboxes,
      due.map((m) => ({
        name: 'poll-mailbox' as const,
        payload: m,
        jobId: mailboxPollJobId(m.mailboxId, slot),
      })),
    );
    if (due.length > 0) log.debug({ due: due.length }, 'report mailboxes enqueued');
    return { due: due.length };
  };
}

/**
 * `report-mailboxes`/`poll-mailbox`: one poll of one tenant's mailbox. What the server or the
 * network did is recorded on the mailbox (a stable `imap.*` code and a backoff), so the job
 * completes; a database failure is thrown and retried. Idempotent: a message is acknowledged only
 * after its raw report is committed, and the same bytes again are the same raw report.
 *
 * A `report_mailbox.failing` or `.recovered` event the poll committed is dispatched at once, as
 * `endpoint.disabled` is: enqueued after the commit, `evt.<id>`. A lost enqueue is not retried
 * here (the poll is done); the outbox sweeper finds the event within ~30 s + `OUTBOX_SWEEP_MS`.
 */
export function createPollMailboxProcessor(deps: {
  mailboxPoller?: MailboxPoller;
  producer?: Producer;
}): JobProcessor {
  return async (job, { log }) => {
    const parsed = parseMailboxRef(job.data);
    if (!parsed.ok)
      throw new UnrecoverableError(`invalid poll-mailbox payload: ${parsed.problems.join('; ')}`);
    if (!deps.mailboxPoller) throw new UnrecoverableError('this worker has no IMAP poller configured');
    const { tenantId, mailboxId } = parsed.payload;
    const result = await deps.mailboxPoller.poll(tenantId, mailboxId, log);
    if (deps.producer)
      await enqueueDispatches(
        deps.producer,
        result.eventIds.map((eventId) => ({ tenantId, eventId })),
        log,
      );
    return {
      state: result.state,
      stored: result.stored,
      duplicates: result.duplicates,
      skippedTooLarge: result.skippedTooLarge,
      more: result.more,
      ...(result.error ? { error: result.error.code } : {}),
      ...(result.eventIds.length > 0 ? { events: result.eventIds.length } : {}),
    };
  };
}
