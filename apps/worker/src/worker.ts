import type { AddressInfo } from 'node:net';
import {
  type AlertMailer,
  createSmtpAlertMailer,
  createWebhooksService,
  type WebhooksService,
} from '@mailwarden/alerts';
import { createDnssecValidator } from '@mailwarden/checks';
import { type Clock, createSecretBox, type Logger, systemClock } from '@mailwarden/core';
import { createDatabase, pingPool } from '@mailwarden/db';
import {
  createBlocklistFamilyRunner,
  createDnsFamilyRunner,
  createDnssecFamilyRunner,
  createMailboxPoller,
  createTlsFamilyRunner,
  type FamilyRunners,
} from '@mailwarden/monitoring';
import { createDnsClient } from '@mailwarden/net';
import {
  allQueueNames,
  type CheckFamilyName,
  type ConnectionRole,
  checkBatchSizes,
  createProducer,
  createRedisLiveEmitter,
  digestRepeat,
  digestSchedulerId,
  parseReportJobId,
  type QueueName,
  queueNames,
  type RedisConnection,
  waitForReady,
} from '@mailwarden/queue';
import {
  DelayedError,
  type Job,
  RateLimitError,
  UnrecoverableError,
  WaitingChildrenError,
  WaitingError,
  Worker,
} from 'bullmq';
import { sql } from 'drizzle-orm';
import type { WorkerConfig } from './config.ts';
import { createHealthServer } from './http-server.ts';
import { createWorkerMetrics, type JobOutcome } from './metrics.ts';
import { createProcessors, type JobProcessor } from './processors/index.ts';

export interface WorkerDeps {
  logger: Logger;
  /** Opens a Redis connection of the given role; the worker closes what it opens. */
  createConnection: (role: ConnectionRole) => RedisConnection;
  /** Used only for the readiness ping; owned and closed by the caller. */
  pool: Parameters<typeof pingPool>[0];
  clock?: Clock;
  /** Replaces the family runners built from the configuration (tests, other families later). */
  runners?: FamilyRunners;
  /** The mail relay for e-mail alert endpoints; without one those endpoints cannot be created. */
  mailer?: AlertMailer;
}

/** Each readiness dependency must answer within this time. */
const readinessTimeoutMs = 2_000;

export interface StopResult {
  /** False when the shutdown timeout cut jobs short; they stay locked until the stalled check frees them. */
  drained: boolean;
}

/** Errors a processor throws on purpose to move its job; they are not failures. */
function isControlFlow(err: unknown): boolean {
  return (
    err instanceof DelayedError ||
    err instanceof RateLimitError ||
    err instanceof WaitingChildrenError ||
    err instanceof WaitingError
  );
}

/** Mirrors BullMQ's own retry decision (Job.shouldRetryJob) so the metric says what will happen. */
function isFinalFailure(job: Job, err: unknown): boolean {
  return err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

async function closeConnection(connection: RedisConnection, graceful: boolean): Promise<void> {
  if (graceful && connection.status === 'ready') {
    try {
      await connection.quit();
      return;
    } catch {
      // Fall through: the socket is going away either way.
    }
  }
  connection.disconnect();
}

export function buildWorker(config: WorkerConfig, deps: WorkerDeps) {
  const log = deps.logger;
  const metrics = createWorkerMetrics();
  const clock = deps.clock ?? systemClock;
  const db = createDatabase(deps.pool as Parameters<typeof createDatabase>[0]);
  const producerConnection = deps.createConnection('producer');
  const producer = createProducer(producerConnection, config.QUEUE_PREFIX);
  // One DNS client per process: its cache and in-flight coalescing serve every tenant and check.
  const dns = createDnsClient({ servers: config.DNS_SERVERS, timeoutMs: config.DNS_TIMEOUT_MS });
  // One validator per process: DNSSEC and DANE share its key, cut and signature caches.
  const validator = createDnssecValidator(
    dns,
    config.DNSSEC_TRUST_ANCHORS ? { trustAnchors: config.DNSSEC_TRUST_ANCHORS } : {},
  );
  const runners: FamilyRunners = deps.runners ?? {
    dns: createDnsFamilyRunner({
      resolver: dns,
      allow: config.PROBE_ALLOW_CIDRS,
      ca: config.TLS_EXTRA_CA_FILE,
      fetchTimeoutMs: config.FETCH_TIMEOUT_MS,
    }),
    dnssec: createDnssecFamilyRunner({ resolver: dns, validator, expiringDays: config.DNSSEC_EXPIRING_DAYS }),
    tls: createTlsFamilyRunner({
      resolver: dns,
      allow: config.PROBE_ALLOW_CIDRS,
      port: config.SMTP_PROBE_PORT,
      ca: config.TLS_EXTRA_CA_FILE,
      validator,
      now: () => clock.now(),
    }),
    blocklist: createBlocklistFamilyRunner({
      resolver: dns,
      ipLists: config.BLOCKLISTS_IP,
      domainLists: config.BLOCKLISTS_DOMAIN,
    }),
  };
  const mailer =
    deps.mailer ??
    (config.SMTP_RELAY_URL
      ? createSmtpAlertMailer({
          url: config.SMTP_RELAY_URL,
          from: config.ALERT_MAIL_FROM,
          ca: config.TLS_EXTRA_CA_FILE,
        })
      : undefined);
  // Opens what the API sealed: webhook targets and secrets, report mailbox passwords.
  const box = createSecretBox(config.ENCRYPTION_KEY, config.ENCRYPTION_KEYS_PREVIOUS);
  const webhooks: WebhooksService = createWebhooksService({
    db,
    clock,
    box,
    runtime: {
      resolver: dns,
      allow: config.PROBE_ALLOW_CIDRS,
      ca: config.TLS_EXTRA_CA_FILE,
      allowHttp: config.WEBHOOK_ALLOW_HTTP,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      ...(config.PUBLIC_BASE_URL ? { dashboardBaseUrl: config.PUBLIC_BASE_URL } : {}),
      ...(mailer ? { mailer } : {}),
    },
  });
  // GraphQL subscribers of every API instance hear about events through Redis pub/sub.
  const live = createRedisLiveEmitter(config.REDIS_URL);
  const mailboxPoller = createMailboxPoller({
    db,
    clock,
    box,
    resolver: dns,
    allow: config.PROBE_ALLOW_CIDRS,
    ca: config.TLS_EXTRA_CA_FILE,
    pollIntervalSeconds: config.REPORT_IMAP_POLL_SECONDS,
    maxMessageBytes: config.REPORT_IMAP_MAX_MESSAGE_BYTES,
    async enqueueParse(tenantId, rawReportId) {
      await producer.enqueue(
        queueNames.reports,
        'parse-report',
        { tenantId, rawReportId },
        { jobId: parseReportJobId(rawReportId) },
      );
    },
  });
  // CHECKS_<FAMILY>_CONCURRENCY counts checks (names) running: the processors hold each family to
  // it over all its jobs. BullMQ takes batch jobs for four times that many names: a name whose
  // options are being loaded or whose run is being recorded (Postgres) holds no check slot, and a
  // batch holds all its names until its last is stored; with twice as many the slots were full
  // about half of the time in a sweep, with four times nine tenths of it.
  const checkConcurrency = {
    dns: config.CHECKS_DNS_CONCURRENCY,
    dnssec: config.CHECKS_DNSSEC_CONCURRENCY,
    tls: config.CHECKS_TLS_CONCURRENCY,
    blocklist: config.CHECKS_BLOCKLIST_CONCURRENCY,
  } as const satisfies Record<CheckFamilyName, number>;
  const checkJobsAtOnce = (family: CheckFamilyName) =>
    Math.ceil((4 * checkConcurrency[family]) / checkBatchSizes[family]);
  const processors = createProcessors({
    checkConcurrency,
    onRunsRecorded(family, runs) {
      if (runs.stored > 0) metrics.checkRunsTotal.inc({ family, result: 'stored' }, runs.stored);
      if (runs.skipped > 0) metrics.checkRunsTotal.inc({ family, result: 'skipped' }, runs.skipped);
    },
    mailboxPoller,
    clock,
    db,
    producer,
    runners,
    webhooks,
    live,
    reports: {
      parserThread: { maxHeapMb: config.REPORT_PARSE_HEAP_MB, timeoutMs: config.REPORT_PARSE_TIMEOUT_MS },
    },
  });
  const concurrencyOf: Partial<Record<QueueName, number>> = {
    [queueNames.checksDns]: checkJobsAtOnce('dns'),
    [queueNames.checksDnssec]: checkJobsAtOnce('dnssec'),
    [queueNames.checksTls]: checkJobsAtOnce('tls'),
    [queueNames.checksBlocklist]: checkJobsAtOnce('blocklist'),
    [queueNames.webhooks]: config.WEBHOOK_CONCURRENCY,
    [queueNames.reports]: config.REPORT_CONCURRENCY,
    [queueNames.reportMailboxes]: config.REPORT_IMAP_CONCURRENCY,
    [queueNames.scheduler]: 1,
  };
  const workerConnection = deps.createConnection('worker');
  // Readiness pings use a fail-fast connection: on the worker connection a PING would wait out an
  // outage in the offline queue instead of reporting it.
  const probeConnection = deps.createConnection('producer');

  function processorFor(queue: QueueName, name: string): JobProcessor | undefined {
    const byName: Record<string, JobProcessor> = processors[queue];
    return Object.hasOwn(byName, name) ? byName[name] : undefined;
  }

  async function runJob(queue: QueueName, job: Job<unknown>): Promise<unknown> {
    const processor = processorFor(queue, job.name);
    // Job names come from Redis; only known ones become label values, so cardinality stays bounded.
    const labels = { queue, name: processor ? job.name : 'unknown' };
    const jobLog = log.child({ jobId: job.id, queue, jobName: job.name });
    const endTimer = metrics.jobDurationSeconds.startTimer(labels);
    let outcome: JobOutcome = 'completed';
    try {
      if (!processor) throw new UnrecoverableError(`no processor for job name ${JSON.stringify(job.name)}`);
      const result = await processor(job, { log: jobLog });
      jobLog.info({ attempt: job.attemptsMade + 1 }, 'job completed');
      return result;
    } catch (err) {
      if (isControlFlow(err)) {
        outcome = 'deferred';
      } else {
        outcome = isFinalFailure(job, err) ? 'failed' : 'retrying';
        jobLog.warn({ err, attempt: job.attemptsMade + 1, outcome }, 'job attempt failed');
      }
      throw err;
    } finally {
      endTimer();
      metrics.jobsTotal.inc({ ...labels, outcome });
    }
  }

  const workers = allQueueNames.map((queue) => {
    const worker = new Worker(queue, (job: Job<unknown>) => runJob(queue, job), {
      connection: workerConnection,
      prefix: config.QUEUE_PREFIX,
      concurrency: concurrencyOf[queue] ?? config.WORKER_CONCURRENCY,
      lockDuration: config.WORKER_LOCK_DURATION_MS,
      stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
      autorun: false,
    });
    // Connection and script errors surface here; without a listener Node would crash the process.
    worker.on('error', (err) => log.error({ err, queue }, 'queue worker error'));
    worker.on('stalled', (jobId) =>
      log.warn(
        { jobId, queue },
        'job stalled: its lock lapsed, so BullMQ requeues it (or fails it past maxStalledCount)',
      ),
    );
    return worker;
  });

  const http = createHealthServer({
    registry: metrics.registry,
    log,
    readinessTimeoutMs,
    readinessChecks: [
      {
        name: 'redis',
        check: async () => {
          await waitForReady(probeConnection, readinessTimeoutMs);
          await probeConnection.ping();
        },
      },
      { name: 'postgres', check: () => pingPool(deps.pool) },
    ],
  });

  let address: AddressInfo | undefined;
  let stopping: Promise<StopResult> | undefined;
  let schedulerTimer: NodeJS.Timeout | undefined;

  /**
   * The repeatable jobs live in Redis, so an emptied Redis would lose them: every worker upserts
   * them at start and again every five ticks, at most a minute apart (idempotent), and the schedules themselves are in Postgres.
   */
  async function ensureJobSchedulers(): Promise<void> {
    // Without Redis there is nothing to register; the next minute tries again.
    if (producerConnection.status !== 'ready') await waitForReady(producerConnection, readinessTimeoutMs);
    // Daily digests of e-mail endpoints: the list comes from Postgres (decision 0004), so an
    // emptied Redis gets them back too. Upserting an existing scheduler changes nothing.
    const digests = await db.execute<{ tenant_id: string; endpoint_id: string }>(
      sql`select tenant_id, endpoint_id from mailwarden_digest_endpoints(100000)`,
    );
    const webhooksQueue = producer.queue(queueNames.webhooks);
    for (const row of digests.rows) {
      await webhooksQueue.upsertJobScheduler(
        digestSchedulerId(row.endpoint_id),
        { ...digestRepeat },
        { name: 'send-digest', data: { tenantId: row.tenant_id, endpointId: row.endpoint_id } },
      );
    }
    const queue = producer.queue(queueNames.scheduler);
    await queue.upsertJobScheduler(
      'scheduler-tick',
      { every: config.SCHEDULER_TICK_MS },
      { name: 'tick', data: {} },
    );
    await queue.upsertJobScheduler(
      'outbox-sweep',
      { every: config.OUTBOX_SWEEP_MS },
      { name: 'sweep-outbox', data: {} },
    );
    // IMAP report mailboxes: each minute, the ones due (their schedule is in Postgres) get a poll job.
    await queue.upsertJobScheduler(
      'report-mailbox-tick',
      { every: 60_000 },
      { name: 'poll-mailboxes', data: {} },
    );
    await queue.upsertJobScheduler(
      'retention-purge',
      { every: 3_600_000 },
      { name: 'purge-history', data: {} },
    );
  }

  return {
    metrics: metrics.registry,
    address: () => address,
    /** For tests and operator tools: the queue producer and the webhook service of this worker. */
    producer,
    webhooks,

    /** Listens for health and metrics, then starts taking jobs. Resolves once the listener is bound. */
    async start(): Promise<AddressInfo> {
      address = await http.listen(config.WORKER_HTTP_HOST, config.WORKER_HTTP_PORT);
      for (const worker of workers) {
        worker.run().catch((err: unknown) => log.error({ err, queue: worker.name }, 'queue worker stopped'));
      }
      await ensureJobSchedulers().catch((err: unknown) =>
        log.warn({ err }, 'job schedulers not registered yet'),
      );
      schedulerTimer = setInterval(
        () => {
          ensureJobSchedulers().catch((err: unknown) => log.warn({ err }, 'job schedulers not registered'));
        },
        Math.min(60_000, config.SCHEDULER_TICK_MS * 5),
      );
      schedulerTimer.unref();
      log.info({ host: address.address, port: address.port, queues: allQueueNames }, 'worker ready');
      return address;
    },

    /**
     * Stops taking jobs, lets the ones in flight finish for up to `timeoutMs`, then force-closes.
     * A force-closed job is not lost: its lock is no longer renewed, so once it expires the stalled
     * check of any worker moves the job back to wait and it runs again (processors are idempotent).
     */
    stop(timeoutMs: number = config.WORKER_SHUTDOWN_TIMEOUT_MS): Promise<StopResult> {
      stopping ??= (async () => {
        log.info({ timeoutMs }, 'worker stopping; waiting for jobs in flight');
        // pause() waits for jobs like close() does, but leaves close(force) usable at the deadline:
        // once close() is waiting, BullMQ hands back the same pending promise to close(true).
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        });
        const paused = Promise.all(workers.map((w) => w.pause())).then(
          () => true as const,
          (err: unknown) => {
            log.error({ err }, 'waiting for jobs in flight failed');
            return false as const;
          },
        );
        const drained = await Promise.race([paused, deadline]);
        clearTimeout(timer);
        if (!drained)
          log.warn({ timeoutMs }, 'shutdown timeout reached; unfinished jobs left to the stalled check');
        clearInterval(schedulerTimer);
        await Promise.all(workers.map((w) => w.close(!drained)));
        await producer.close().catch(() => {});
        await live.closeAsync().catch(() => {});
        dns.close();
        await Promise.all([
          closeConnection(workerConnection, drained),
          closeConnection(probeConnection, true),
          closeConnection(producerConnection, true),
        ]);
        await http.close();
        log.info({ drained }, 'worker stopped');
        return { drained };
      })();
      return stopping;
    },
  };
}

export type MailwardenWorker = ReturnType<typeof buildWorker>;
