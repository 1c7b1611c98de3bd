/**
 * IMAP report intake through the worker, end to end against a real Dovecot on loopback, Redis (own
 * prefix) and Postgres (app role, RLS): the every-minute tick lists due mailboxes through the
 * definer function and enqueues one poll job each (deterministic ids), the poll stores the mail and
 * enqueues its parse, the parse writes report rows, and the message ends up in the Processed folder.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, createSecretBox, systemClock, uuidv7 } from '@mailwarden/core';
import { createDatabase, createPool, type Database, schema, withTenant } from '@mailwarden/db';
import { createReportMailboxesService } from '@mailwarden/monitoring';
import { createDnsClient, parseAllowList } from '@mailwarden/net';
import {
  allQueueNames,
  createRedisConnection,
  mailboxPollJobId,
  parseReportJobId,
  queueNames,
} from '@mailwarden/queue';
import { corpusPath } from '@mailwarden/testing/corpus';
import { createTestTenant } from '@mailwarden/testing/db';
import { buildReportMail, startDovecot, type TestDovecot } from '@mailwarden/testing/dovecot';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './config.ts';
import { baseEnv, obliterate, postgresUrl, redisUrl, uniquePrefix, waitForJobState } from './test-kit.ts';
import { buildWorker, type MailwardenWorker } from './worker.ts';

let pool: ReturnType<typeof createPool>;
let db: Database;
let worker: MailwardenWorker;
let dovecot: TestDovecot;
const prefix = uniquePrefix();
const key = Buffer.alloc(32, 9);
const user = { name: 'rua', password: 'worker-imap-password' };

beforeAll(async () => {
  pool = createPool(postgresUrl, { max: 6 });
  db = createDatabase(pool);
  dovecot = await startDovecot({ users: [user] });
  const caFile = join(dovecot.dir, 'test-ca.pem');
  writeFileSync(caFile, dovecot.ca.certPem);
  const config = loadWorkerConfig({
    ...baseEnv(prefix),
    LOG_LEVEL: 'silent',
    ENCRYPTION_KEY: key.toString('base64'),
    PROBE_ALLOW_CIDRS: '127.0.0.0/8',
    TLS_EXTRA_CA_FILE: caFile,
    REPORT_IMAP_POLL_SECONDS: '600',
  });
  expect(config.REPORT_IMAP_POLL_SECONDS).toBe(600);
  worker = buildWorker(config, {
    logger: createLogger('silent', 'report-mailboxes-test'),
    pool,
    createConnection: (role) => createRedisConnection(redisUrl, role),
  });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  const connection = createRedisConnection(redisUrl, 'producer');
  for (const name of allQueueNames) await obliterate(connection, name, prefix);
  await connection.quit();
  await dovecot?.close();
  await pool?.end();
});

describe('report mailboxes in the worker', () => {
  it('should poll a due mailbox from the tick, store and parse its report, and move the mail', async () => {
    const tenant = await createTestTenant(db);
    await withTenant(db, tenant.id, (tx) =>
      tx
        .insert(schema.domains)
        .values({ id: uuidv7(), tenantId: tenant.id, name: 'example.com', verificationToken: 'tok' }),
    );
    const allow = parseAllowList('127.0.0.0/8');
    if (!allow.ok) throw new Error('allow list');
    // The host is an IP literal: nothing is resolved (nothing listens on port 9).
    const resolver = createDnsClient({ servers: [{ host: '127.0.0.1', port: 9 }] });
    const service = createReportMailboxesService({
      db,
      clock: systemClock,
      box: createSecretBox(key),
      vet: { resolver, allow: allow.allow },
    });
    const view = await service.create(tenant.id, {
      host: '127.0.0.1',
      port: dovecot.imapsPort,
      security: 'tls',
      username: user.name,
      password: user.password,
    });
    const mailboxId = view.id;
    const [row] = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.reportMailboxes));
    dovecot.deliver(
      user.name,
      await buildReportMail({
        attachment: readFileSync(
          corpusPath(
            'dmarc-aggregate',
            'samuelba-dmarc-report-visualizer',
            'google.com!example.com!1701129600!1701215999.xml.gz',
          ),
        ),
        filename: 'google.com!example.com!1701129600!1701215999.xml.gz',
      }),
    );

    // The tick, as the job scheduler runs it every minute.
    const schedulerQueue = worker.producer.queue(queueNames.scheduler);
    expect((await schedulerQueue.getJobSchedulers()).map((s) => s.key)).toContain('report-mailbox-tick');
    const slot = Math.floor(Date.now() / 60_000);
    await worker.producer.enqueue(
      queueNames.scheduler,
      'poll-mailboxes',
      {},
      { jobId: `test-tick-${uuidv7()}` },
    );
    const pollQueue = worker.producer.queue(queueNames.reportMailboxes);
    let pollJobId = mailboxPollJobId(row!.id, slot);
    // The minute may turn between reading the clock and the tick.
    const deadline = Date.now() + 10_000;
    while (!(await pollQueue.getJob(pollJobId)) && Date.now() < deadline) {
      const next = mailboxPollJobId(row!.id, slot + 1);
      if (await pollQueue.getJob(next)) pollJobId = next;
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await waitForJobState(pollQueue, pollJobId, ['completed', 'failed'], 15_000)).toBe('completed');
    const pollJob = await pollQueue.getJob(pollJobId);
    expect(pollJob?.returnvalue).toMatchObject({ state: 'polled', stored: 1 });

    const [raw] = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.rawReports));
    expect(raw?.receivedVia).toBe('imap');
    const parseQueue = worker.producer.queue(queueNames.reports);
    expect(
      await waitForJobState(parseQueue, parseReportJobId(raw!.id), ['completed', 'failed'], 30_000),
    ).toBe('completed');
    const reports = await withTenant(db, tenant.id, (tx) =>
      tx.execute<{ n: string }>(sql`select count(*) as n from dmarc_reports`),
    );
    expect(Number(reports.rows[0]!.n)).toBe(1);
    expect(dovecot.count(user.name)).toBe(0);
    expect(dovecot.count(user.name, 'Mailwarden/Processed')).toBe(1);

    // Polled: not due again for REPORT_IMAP_POLL_SECONDS, so the next tick enqueues nothing for it.
    const shown = await service.get(tenant.id, mailboxId);
    expect(shown).toMatchObject({ status: 'ok', lastStoredCount: 1, lastError: null });
    expect(Date.parse(shown.nextPollAt!) - Date.parse(shown.lastPolledAt!)).toBe(600_000);
    resolver.close();
  });
});
