/**
 * TEST HELPER for the IMAP report intake tests (mailbox-poller, mailbox-alerts and
 * mailbox-guards.test.ts): started and stopped around the importing file, a real Dovecot on
 * loopback (implicit TLS and STARTTLS, a certificate from the test CA) with users of its own, a
 * loopback DNS server, the run's Postgres as the app role under RLS, and a real BullMQ queue the
 * parses are enqueued on. Nothing is mocked. Also: the poller as the tests configure it, a mailbox
 * made through the service, and readers of what a poll left behind.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createSecretBox, type Logger, systemClock } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import { createDnsClient, type DnsClient, parseAllowList } from '@mailwarden/net';
import {
  createProducer,
  createRedisConnection,
  parseReportJobId,
  queueNames,
  type RedisConnection,
  waitForReady,
} from '@mailwarden/queue';
import { corpusPath } from '@mailwarden/testing/corpus';
import { createTestTenant, openTestDatabase } from '@mailwarden/testing/db';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { buildReportMail, startDovecot, type TestDovecot } from '@mailwarden/testing/dovecot';
import { Queue } from 'bullmq';
import { ImapFlow } from 'imapflow';
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createMailboxPoller, type MailboxPollerOptions } from './mailbox-poller.ts';
import { createReportMailboxesService, type ReportMailboxInput } from './report-mailboxes.service.ts';

let pool: pg.Pool;
export let db: Database;
export let dovecot: TestDovecot;
export let dns: TestDnsServer;
export let resolver: DnsClient;
let redis: RedisConnection;
let producer: ReturnType<typeof createProducer>;
export let parseQueue: Queue;
const prefix = `test-${randomUUID()}`;
export const box = createSecretBox(Buffer.alloc(32, 7));
export const loopback = (() => {
  const parsed = parseAllowList('127.0.0.0/8');
  if (!parsed.ok) throw new Error(parsed.errors.join());
  return parsed.allow;
})();
export const log: Logger = pino({ level: 'silent' });
const users = Array.from({ length: 30 }, (_, i) => ({
  name: `u${i}`,
  password: `secret-${i}-${randomUUID()}`,
}));
let nextUser = 0;

const corpus = (...parts: string[]) => readFileSync(corpusPath('dmarc-aggregate', ...parts));
export const gzReport = () =>
  buildReportMail({
    attachment: corpus(
      'samuelba-dmarc-report-visualizer',
      'google.com!example.com!1701129600!1701215999.xml.gz',
    ),
    filename: 'google.com!example.com!1701129600!1701215999.xml.gz',
  });
export const zipReport = () =>
  buildReportMail({
    attachment: corpus(
      'samuelba-dmarc-report-visualizer',
      'google.com!example.com!1701129600!1701215999.xml.zip',
    ),
    filename: 'google.com!example.com!1701129600!1701215999.xml.zip',
  });

beforeAll(async () => {
  ({ pool, db } = openTestDatabase());
  dovecot = await startDovecot({ users });
  dns = await startDnsServer({
    zones: {
      test: {
        records: {
          'imap.test': { A: ['127.0.0.1'] },
          'private.test': { A: ['10.0.0.25'] },
        },
      },
    },
  });
  resolver = createDnsClient({ servers: [{ host: dns.host, port: dns.port }], cache: false });
  redis = createRedisConnection('redis://127.0.0.1:6379', 'producer');
  await waitForReady(redis, 5_000);
  producer = createProducer(redis, prefix);
  parseQueue = new Queue(queueNames.reports, { connection: redis, prefix });
});

afterAll(async () => {
  await parseQueue?.obliterate({ force: true }).catch(() => {});
  await parseQueue?.close();
  await producer?.close();
  redis?.disconnect();
  resolver?.close();
  await dns?.close();
  await dovecot?.close();
  await pool?.end();
});

export function poller(overrides: Partial<MailboxPollerOptions> = {}) {
  return createMailboxPoller({
    db,
    clock: systemClock,
    box,
    resolver,
    allow: loopback,
    ca: [dovecot.ca.certPem],
    pollIntervalSeconds: 300,
    maxMessageBytes: 1024 * 1024,
    pollDeadlineMs: 20_000,
    connectTimeoutMs: 5_000,
    async enqueueParse(tenantId, rawReportId) {
      await producer.enqueue(
        queueNames.reports,
        'parse-report',
        { tenantId, rawReportId },
        { jobId: parseReportJobId(rawReportId) },
      );
    },
    ...overrides,
  });
}

/** A tenant, a Dovecot user of its own, and a mailbox for it (created through the service). */
export async function setup(input: Partial<ReportMailboxInput> = {}, allow = loopback) {
  const tenant = await createTestTenant(db);
  const user = users[nextUser++]!;
  const service = createReportMailboxesService({ db, clock: systemClock, box, vet: { resolver, allow } });
  const view = await service.create(tenant.id, {
    host: '127.0.0.1',
    port: dovecot.imapsPort,
    security: 'tls',
    username: user.name,
    password: user.password,
    ...input,
  });
  const [row] = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.reportMailboxes));
  return { tenantId: tenant.id, user, mailboxId: row!.id, view, service };
}

export async function mailbox(tenantId: string) {
  const [row] = await withTenant(db, tenantId, (tx) => tx.select().from(schema.reportMailboxes));
  return row!;
}

export async function rawReports(tenantId: string) {
  return withTenant(db, tenantId, (tx) =>
    tx.select().from(schema.rawReports).orderBy(schema.rawReports.receivedAt),
  );
}

/** The tenant's outbox, oldest first. */
export async function events(tenantId: string) {
  return withTenant(db, tenantId, (tx) =>
    tx.select().from(schema.monitoringEvents).orderBy(schema.monitoringEvents.id),
  );
}

/** Flags of every message in a folder, read over IMAP as a mail client would. */
export async function flagsIn(user: { name: string; password: string }, folder: string): Promise<string[][]> {
  const client = new ImapFlow({
    host: dovecot.host,
    port: dovecot.imapsPort,
    secure: true,
    servername: 'imap.test',
    auth: { user: user.name, pass: user.password },
    tls: { ca: [dovecot.ca.certPem] },
    logger: false,
  });
  await client.connect();
  try {
    await client.mailboxOpen(folder);
    const out: string[][] = [];
    for (const m of await client.fetchAll('1:*', { flags: true })) out.push([...(m.flags ?? [])].sort());
    return out;
  } catch {
    return [];
  } finally {
    await client.logout().catch(() => {});
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
