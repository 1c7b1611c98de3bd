import type { WebhooksService } from '@mailwarden/alerts';
import type { Clock } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import type { FamilyRunners, MailboxPoller } from '@mailwarden/monitoring';
import { type CheckFamilyName, type LiveEventEmitter, type Producer, queueNames } from '@mailwarden/queue';
import { type CheckProcessorDeps, createCheckProcessors } from './checks.processor.ts';
import { createEchoProcessor } from './echo.processor.ts';
import type { ProcessorMap } from './processor.ts';
import { createMailboxTickProcessor, createPollMailboxProcessor } from './report-mailboxes.processor.ts';
import { createParseReportProcessor, type ReportProcessorDeps } from './reports.processor.ts';
import { createPurgeProcessor, createSweepProcessor, createTickProcessor } from './scheduler.processor.ts';
import {
  createDeliverProcessor,
  createDigestProcessor,
  createDispatchProcessor,
} from './webhooks.processor.ts';

export type { JobContext, JobProcessor, ProcessorMap } from './processor.ts';

export interface ProcessorDeps {
  clock: Clock;
  db: Database;
  producer: Producer;
  runners: FamilyRunners;
  webhooks: Pick<WebhooksService, 'dispatchEvent' | 'attemptDelivery' | 'sendDigest'>;
  /** Redis pub/sub to the API's GraphQL subscribers. */
  live?: LiveEventEmitter;
  /** Report parsing isolation and limits (issue 6). */
  reports?: Pick<ReportProcessorDeps, 'parserThread' | 'reportLimits'>;
  /** Polls tenants' IMAP report mailboxes (issue 6 §1c); without it poll jobs fail for good. */
  mailboxPoller?: MailboxPoller;
  /** Checks (names) of each family run at once, over all jobs (CHECKS_<FAMILY>_CONCURRENCY). */
  checkConcurrency?: Partial<Record<CheckFamilyName, number>>;
  /** Counts the runs each check job recorded (the worker's `mailwarden_check_runs_total`). */
  onRunsRecorded?: CheckProcessorDeps['onRunsRecorded'];
}

/** Registers one processor per queue and job name; add new job kinds here. */
export function createProcessors(deps: ProcessorDeps): ProcessorMap {
  const checks = createCheckProcessors({
    ...deps,
    ...(deps.checkConcurrency ? { concurrency: deps.checkConcurrency } : {}),
  });
  const runCheck = { 'run-check': checks.runCheck, 'run-checks': checks.runChecks };
  return {
    [queueNames.system]: { echo: createEchoProcessor(deps) },
    [queueNames.scheduler]: {
      tick: createTickProcessor(deps),
      'sweep-outbox': createSweepProcessor(deps),
      'purge-history': createPurgeProcessor(deps),
      'poll-mailboxes': createMailboxTickProcessor(deps),
    },
    [queueNames.checksDns]: runCheck,
    [queueNames.checksDnssec]: runCheck,
    [queueNames.checksTls]: runCheck,
    [queueNames.checksBlocklist]: runCheck,
    [queueNames.webhooks]: {
      'dispatch-event': createDispatchProcessor(deps),
      deliver: createDeliverProcessor(deps),
      'send-digest': createDigestProcessor(deps),
    },
    [queueNames.reports]: { 'parse-report': createParseReportProcessor({ ...deps, ...deps.reports }) },
    [queueNames.reportMailboxes]: { 'poll-mailbox': createPollMailboxProcessor(deps) },
  };
}
