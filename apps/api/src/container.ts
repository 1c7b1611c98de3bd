import { createSmtpAlertMailer, createWebhooksService, type WebhooksService } from '@mailwarden/alerts';
import {
  type AuthServices,
  createAuthServices,
  createRecordingMailer,
  type Mailer,
  type RecordingMailer,
} from '@mailwarden/auth';
import { type CheckMessageOptions, checkMessage, type MessageCheckReport } from '@mailwarden/checks';
import { type Clock, createLogger, createSecretBox, type Logger, systemClock } from '@mailwarden/core';
import { createDatabase, createPool, type Database } from '@mailwarden/db';
import {
  createDomainsService,
  createFailureReportsService,
  createFindingsService,
  createMonitoringSettingsService,
  createReportMailboxesService,
  createReportsService,
  createSourceNamer,
  createTenantDataService,
  type FailureReportsService,
  type ReportMailboxesService,
  type ReportsService,
} from '@mailwarden/monitoring';
import { createDnsClient, type DnsClient } from '@mailwarden/net';
import {
  createProducer,
  createRedisConnection,
  createRedisLiveEmitter,
  digestRepeat,
  digestSchedulerId,
  mailboxPollJobId,
  parseReportJobId,
  queueNames,
  type RedisLiveEmitter,
} from '@mailwarden/queue';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ApiConfig } from './config.ts';
import { createLiveEvents, type LiveEvents } from './live-events.ts';
import { createMonitoringApi, type MonitoringApi } from './monitoring.ts';

/**
 * Everything the API's routes use, wired by hand in one place (no IoC container). Tests build
 * their own container against the test database; connections are lazy, so building one for the
 * OpenAPI generator opens no socket.
 */
export interface ApiContainer {
  logger: Logger;
  clock: Clock;
  pool: pg.Pool;
  db: Database;
  redis: Redis;
  /** Outgoing mail; the recording mailer until an SMTP transport is configured (see README). */
  mailer: RecordingMailer;
  auth: AuthServices;
  /**
   * The DNS client of checks the API runs itself (the message check): one per process, so its TTL
   * cache is shared by every tenant's requests. Sockets open on the first query.
   */
  dns: DnsClient;
  /** SPF, DKIM, ARC, DMARC and domain blocklists of one raw message (libs/checks). */
  checkMessage(raw: Uint8Array, envelope: MessageEnvelope): Promise<MessageCheckReport>;
  /** Report intake and analytics (issue 6). */
  reports: ReportsService;
  failureReports: FailureReportsService;
  /** Enqueues the parse of a committed raw report (after its commit; the sweeper covers a loss). */
  enqueueReportParse(tenantId: string, rawReportId: string): Promise<void>;
  /** IMAP mailboxes report mail is read from (issue 6 §1c); polled by the worker. */
  reportMailboxes: ReportMailboxesService;
  /** Hands a poll of one mailbox (uuid) to the worker now; the worker's tick is the backstop. */
  enqueueMailboxPoll(tenantId: string, mailboxId: string): Promise<void>;
  /** Domains, findings, events, maintenance windows, tenant export/delete (issue 5), with audit and queueing. */
  monitoring: MonitoringApi;
  /** Publisher of the GraphQL `events` subscription; bound to Mercurius' emitter by the GraphQL plugin. */
  liveEvents: LiveEvents;
  /** The Redis pub/sub emitter Mercurius subscribes through (absent in a lazy container). */
  liveEmitter?: RedisLiveEmitter;
  /** Alert endpoints and deliveries (libs/alerts); deliveries are made by the worker. */
  webhooks: WebhooksService;
  /** Hands a delivery to the worker now (test events, redeliveries). */
  enqueueDelivery(tenantId: string, deliveryId: string): Promise<void>;
  /** Registers or removes the daily digest job of an e-mail endpoint (endpoint uuid). */
  syncDigest(tenantId: string, endpointId: string, digest: boolean): Promise<void>;
  close(): Promise<void>;
}

/** What the SMTP session would have told a receiver; each part optional (docs/message-check.md). */
export type MessageEnvelope = Pick<CheckMessageOptions, 'clientIp' | 'helo' | 'mailFrom'>;

export function createApiContainer(config: ApiConfig, options: { lazy?: boolean } = {}): ApiContainer {
  const logger = createLogger(config.LOG_LEVEL, 'api');
  const pool = createPool(config.DATABASE_URL, { applicationName: 'mailwarden-api' });
  const redis = createRedisConnection(config.REDIS_URL, 'producer', {
    lazyConnect: options.lazy,
    autoPipelining: true,
  });
  const db = createDatabase(pool);
  const mailer = createRecordingMailer();
  // Account mail (password resets, invitations) goes out through the operator's relay when one is
  // configured; otherwise it is only recorded (development and tests read it back).
  const relay = config.SMTP_RELAY_URL
    ? createSmtpAlertMailer({
        url: config.SMTP_RELAY_URL,
        from: config.MAIL_FROM,
        ca: config.TLS_EXTRA_CA_FILE,
      })
    : null;
  if (!relay && config.mode === 'production')
    logger.warn('SMTP_RELAY_URL is not set: password reset and invitation mails are not sent');
  const accountMailer: Mailer = relay
    ? {
        async send(message) {
          await mailer.send(message);
          await relay.send(message);
        },
      }
    : mailer;
  const auth = createAuthServices({
    db,
    redis,
    clock: systemClock,
    logger,
    mailer: accountMailer,
    settings: {
      issuer: config.JWT_ISSUER || config.PUBLIC_BASE_URL,
      audience: config.JWT_AUDIENCE,
      accessTtlSeconds: config.JWT_ACCESS_TTL_SECONDS,
      refreshTtlSeconds: config.REFRESH_TOKEN_TTL_DAYS * 86_400,
      keyRotationIntervalSeconds: config.JWT_KEY_ROTATION_DAYS * 86_400,
      keyPublishLeadSeconds: config.JWT_KEY_PUBLISH_LEAD_SECONDS,
      keyset: 'access',
      encryptionKey: config.ENCRYPTION_KEY,
      previousEncryptionKeys: config.ENCRYPTION_KEYS_PREVIOUS,
      passwordHash: {
        memoryKib: config.PASSWORD_HASH_MEMORY_KIB,
        timeCost: config.PASSWORD_HASH_TIME_COST,
        concurrency: config.PASSWORD_HASH_CONCURRENCY,
        queueLimit: config.PASSWORD_HASH_QUEUE_LIMIT,
      },
      cacheTtlMs: config.AUTH_CACHE_TTL_MS,
      redisKeyPrefix: config.REDIS_KEY_PREFIX,
    },
  });
  const dns = createDnsClient({ servers: config.DNS_SERVERS });
  // The worker and inbound read the same QUEUE_PREFIX: a job enqueued here is one they take.
  const producer = createProducer(redis, config.QUEUE_PREFIX);
  // Seals webhook targets and secrets and report mailbox passwords; the worker opens them.
  const box = createSecretBox(config.ENCRYPTION_KEY, config.ENCRYPTION_KEYS_PREVIOUS);
  const webhooks = createWebhooksService({
    db,
    clock: systemClock,
    box,
    runtime: {
      resolver: dns,
      allow: config.PROBE_ALLOW_CIDRS,
      ca: config.TLS_EXTRA_CA_FILE,
      allowHttp: config.WEBHOOK_ALLOW_HTTP,
      // The API only validates targets and seals secrets; mail is sent by the worker's relay. An
      // e-mail endpoint is accepted when the operator configured one (SMTP_RELAY_URL).
      emailEnabled: config.SMTP_RELAY_URL !== '',
    },
  });
  const reports = createReportsService({
    db,
    clock: systemClock,
    // Reverse DNS and provider names of report sources, through the API's DNS client (DNS_SERVERS).
    names: createSourceNamer({
      db,
      resolver: dns,
      clock: systemClock,
      onError: (err) => logger.warn({ err }, 'report source names not cached'),
    }),
  });
  const failureReports = createFailureReportsService({ db });
  // Hosts are vetted as the worker's poller vets them: the same DNS servers and allowed ranges.
  const reportMailboxes = createReportMailboxesService({
    db,
    clock: systemClock,
    box,
    vet: { resolver: dns, allow: config.PROBE_ALLOW_CIDRS },
  });
  const liveEvents = createLiveEvents();
  // Shared with the worker through Redis pub/sub; connects lazily on the first subscribe or publish.
  const liveEmitter = options.lazy ? undefined : createRedisLiveEmitter(config.REDIS_URL);
  // Verification must see a TXT record the moment it is published: a cached "no such record" from
  // the previous attempt would refuse it for the negative TTL. Same servers, no cache.
  const verificationDns = createDnsClient({ servers: config.DNS_SERVERS, cache: false });
  const monitoring = createMonitoringApi({
    // Domain verification looks its TXT record up through the same DNS client (DNS_SERVERS).
    domains: createDomainsService({ db, clock: systemClock, resolver: verificationDns }),
    findings: createFindingsService({ db, clock: systemClock }),
    tenantData: createTenantDataService({ db, now: () => systemClock.now() }),
    settings: createMonitoringSettingsService({ db }),
    audit: auth.audit,
    producer,
    liveEvents,
    tenantName: async (principal) => (await auth.tenantSettings.get(principal)).name,
    logger,
  });
  return {
    logger,
    clock: systemClock,
    pool,
    db,
    redis,
    mailer,
    auth,
    dns,
    checkMessage: (raw, envelope) =>
      checkMessage(raw, {
        ...envelope,
        resolver: dns,
        domainLists: config.BLOCKLISTS_DOMAIN,
        ipLists: config.BLOCKLISTS_IP,
        maxBytes: config.MESSAGE_CHECK_MAX_BYTES,
        now: () => systemClock.now(),
      }),
    reports,
    failureReports,
    reportMailboxes,
    monitoring,
    liveEvents,
    ...(liveEmitter ? { liveEmitter } : {}),
    webhooks,
    async enqueueDelivery(tenantId, deliveryId) {
      await producer.enqueue(
        queueNames.webhooks,
        'deliver',
        { tenantId, deliveryId },
        // Each request is its own attempt chain (a redelivery of a finished delivery included).
        { jobId: `dlv.${deliveryId}.manual.${Date.now()}` },
      );
    },
    async syncDigest(tenantId, endpointId, digest) {
      const queue = producer.queue(queueNames.webhooks);
      const schedulerId = digestSchedulerId(endpointId);
      if (digest) {
        // Every day at 07:00 UTC; the job reads the last 24 hours.
        await queue.upsertJobScheduler(
          schedulerId,
          { ...digestRepeat },
          { name: 'send-digest', data: { tenantId, endpointId } },
        );
      } else {
        await queue.removeJobScheduler(schedulerId);
      }
    },
    async enqueueReportParse(tenantId, rawReportId) {
      await producer.enqueue(
        queueNames.reports,
        'parse-report',
        { tenantId, rawReportId },
        { jobId: parseReportJobId(rawReportId) },
      );
    },
    async enqueueMailboxPoll(tenantId, mailboxId) {
      // One asked-for poll per mailbox per 10 s; the route's rate limit keeps them rarer still.
      await producer.enqueue(
        queueNames.reportMailboxes,
        'poll-mailbox',
        { tenantId, mailboxId },
        { jobId: mailboxPollJobId(mailboxId, Math.floor(Date.now() / 10_000), true) },
      );
    },
    async close() {
      await producer.close().catch(() => {});
      await liveEmitter?.closeAsync();
      auth.close();
      relay?.close();
      dns.close();
      verificationDns.close();
      await Promise.allSettled([pool.end(), redis.status === 'wait' ? redis.disconnect() : redis.quit()]);
    },
  };
}
