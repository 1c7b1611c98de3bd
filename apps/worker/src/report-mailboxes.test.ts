/**
 * IMAP report intake through the worker, end to end against a real Dovecot on loopback, Redis (own
 * prefix) and Postgres (app role, RLS): the every-minute tick lists due mailboxes through the
 * definer function and enqueues one poll job each (deterministic ids), the poll stores the mail and
 * enqueues its parse, the parse writes report rows, and the message ends up in the Processed folder.
 * A mailbox that starts failing, and recovers, alerts a signed webhook at once (enqueue after commit).
 * An OAuth 2.0 mailbox gets its access token from a loopback HTTPS token endpoint through the
 * worker's SSRF guard and CA settings, keeps it for the next poll, and stores a rotated refresh token.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createWebhooksService } from '@mailwarden/alerts';
import { createLogger, createSecretBox, systemClock, uuidv7 } from '@mailwarden/core';
import { createDatabase, createPool, type Database, schema, withTenant } from '@mailwarden/db';
import { createReportMailboxesService, mailboxRefreshTokenContext } from '@mailwarden/monitoring';
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
import {
  buildReportMail,
  startDovecot,
  startOAuthProvider,
  type TestDovecot,
  type TestOAuthProvider,
} from '@mailwarden/testing/dovecot';
import { eq, sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './config.ts';
import { baseEnv, obliterate, postgresUrl, redisUrl, uniquePrefix, waitForJobState } from './test-kit.ts';
import { buildWorker, type MailwardenWorker } from './worker.ts';

let pool: ReturnType<typeof createPool>;
let db: Database;
let worker: MailwardenWorker;
let dovecot: TestDovecot;
let provider: TestOAuthProvider;
const prefix = uniquePrefix();
const key = Buffer.alloc(32, 9);
const user = { name: 'rua', password: 'worker-imap-password' };
const RECEIVER_HOST = '127.0.0.63';
let receiver: Server;
let receiverPort: number;
let webhookSecret = '';
// biome-ignore lint/suspicious/noExplicitAny: received JSON, read field by field in assertions
const received: { type: string; data: Record<string, any>; verified: boolean }[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      try {
        new Webhook(webhookSecret).verify(body, {
          'webhook-id': String(req.headers['webhook-id']),
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        });
        verified = true;
      } catch {
        verified = false;
      }
      const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      received.push({ type: parsed.type, data: parsed.data, verified });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, RECEIVER_HOST, resolve));
  receiverPort = (receiver.address() as AddressInfo).port;
  pool = createPool(postgresUrl, { max: 6 });
  db = createDatabase(pool);
  // The token endpoint is an IP literal: the worker's DNS_SERVERS answer nothing.
  provider = await startOAuthProvider({ host: '127.0.0.73' });
  dovecot = await startDovecot({ users: [user], oauth2: { introspectionUrl: provider.introspectionUrl } });
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
  await provider?.close();
  await pool?.end();
  await new Promise((r) => receiver?.close(r));
});

async function waitForWebhook(type: string, mailboxId: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hit = received.find((r) => r.type === type && r.data.mailbox?.id === mailboxId);
    if (hit) return hit;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no ${type} webhook for ${mailboxId} within ${timeoutMs} ms`);
}

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

  it('should alert a webhook at once when a mailbox starts failing, and when it recovers', async () => {
    const tenant = await createTestTenant(db);
    const allow = parseAllowList('127.0.0.0/8');
    if (!allow.ok) throw new Error('allow list');
    const resolver = createDnsClient({ servers: [{ host: '127.0.0.1', port: 9 }] });
    const box = createSecretBox(key);
    const service = createReportMailboxesService({
      db,
      clock: systemClock,
      box,
      vet: { resolver, allow: allow.allow },
    });
    const webhooks = createWebhooksService({
      db,
      clock: systemClock,
      box,
      runtime: { resolver, allow: allow.allow },
    });
    const endpoint = await webhooks.create(tenant.id, {
      format: 'standard',
      target: `http://${RECEIVER_HOST}:${receiverPort}/mailwarden`,
      events: ['report_mailbox.failing', 'report_mailbox.recovered'],
    });
    webhookSecret = endpoint.secret!;
    const view = await service.create(tenant.id, {
      host: '127.0.0.1',
      port: dovecot.imapsPort,
      security: 'tls',
      username: user.name,
      password: 'a-wrong-password',
    });
    const [row] = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.reportMailboxes));
    // Four failed polls already behind it: the next failure is the 5th.
    await withTenant(db, tenant.id, (tx) =>
      tx
        .update(schema.reportMailboxes)
        .set({ consecutiveFailures: 4, lastErrorCode: 'imap.auth_failed' })
        .where(eq(schema.reportMailboxes.id, row!.id)),
    );
    const pollQueue = worker.producer.queue(queueNames.reportMailboxes);
    const poll = async (name: string) => {
      const jobId = `test-${name}-${uuidv7()}`;
      await worker.producer.enqueue(
        queueNames.reportMailboxes,
        'poll-mailbox',
        { tenantId: tenant.id, mailboxId: row!.id },
        { jobId },
      );
      expect(await waitForJobState(pollQueue, jobId, ['completed', 'failed'], 15_000)).toBe('completed');
      return (await pollQueue.getJob(jobId))?.returnvalue;
    };

    expect(await poll('fifth')).toMatchObject({ state: 'failed', error: 'imap.auth_failed', events: 1 });
    // Dispatched by the poll job itself: the outbox sweep takes only events older than 30 s, and
    // the wait is at most 15 s.
    const failing = await waitForWebhook('report_mailbox.failing', view.id);
    expect(failing.verified).toBe(true);
    expect(failing.data).toMatchObject({
      mailbox: {
        id: view.id,
        host: '127.0.0.1',
        port: dovecot.imapsPort,
        username: user.name,
        folder: 'INBOX',
      },
      lastError: { code: 'imap.auth_failed' },
      consecutiveFailures: 5,
      lastSuccessAt: null,
    });

    await service.update(tenant.id, view.id, { password: user.password });
    expect(await poll('fixed')).toMatchObject({ state: 'polled', events: 1 });
    const recovered = await waitForWebhook('report_mailbox.recovered', view.id);
    expect(recovered.verified).toBe(true);
    expect(recovered.data).toMatchObject({
      mailbox: { id: view.id },
      lastError: { code: 'imap.auth_failed' },
    });
    expect(received.filter((r) => r.data.mailbox?.id === view.id).map((r) => r.type)).toEqual([
      'report_mailbox.failing',
      'report_mailbox.recovered',
    ]);
    resolver.close();
  });
});

describe('OAuth 2.0 report mailboxes in the worker', () => {
  it('should refresh through the guard, reuse the token on the next poll, and keep a rotated refresh token', async () => {
    const tenant = await createTestTenant(db);
    const allow = parseAllowList('127.0.0.0/8');
    if (!allow.ok) throw new Error('allow list');
    const resolver = createDnsClient({ servers: [{ host: '127.0.0.1', port: 9 }] });
    const box = createSecretBox(key);
    const service = createReportMailboxesService({
      db,
      clock: systemClock,
      box,
      vet: { resolver, allow: allow.allow },
    });
    const oauthUser = 'm365-rua';
    const refreshToken = provider.grant(oauthUser);
    const view = await service.create(tenant.id, {
      host: '127.0.0.1',
      port: dovecot.imapsPort,
      security: 'tls',
      username: oauthUser,
      auth: 'oauth2',
      tokenUrl: provider.tokenUrl,
      clientId: provider.client.clientId,
      clientSecret: provider.client.clientSecret!,
      refreshToken,
      scope: 'https://outlook.office365.com/IMAP.AccessAsUser.All offline_access',
    });
    const [row] = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.reportMailboxes));
    const pollQueue = worker.producer.queue(queueNames.reportMailboxes);
    const poll = async (name: string) => {
      const jobId = `test-oauth-${name}-${uuidv7()}`;
      await worker.producer.enqueue(
        queueNames.reportMailboxes,
        'poll-mailbox',
        { tenantId: tenant.id, mailboxId: row!.id },
        { jobId },
      );
      expect(await waitForJobState(pollQueue, jobId, ['completed', 'failed'], 15_000)).toBe('completed');
      const job = await pollQueue.getJob(jobId);
      // Jobs carry ids, never a secret: neither in the payload nor in what the poll returns.
      const carried = JSON.stringify([job?.data, job?.returnvalue]);
      for (const secret of [
        provider.client.clientSecret!,
        ...provider.liveRefreshTokens(),
        ...provider.accessTokensIssued,
        refreshToken,
      ])
        expect(carried).not.toContain(secret);
      return job?.returnvalue;
    };

    provider.rotate = true;
    try {
      dovecot.deliver(
        oauthUser,
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
      expect(await poll('first')).toMatchObject({ state: 'polled', stored: 1 });
      expect(dovecot.count(oauthUser, 'Mailwarden/Processed')).toBe(1);
      const first = provider.tokenRequests.filter((r) => r.form.refresh_token === refreshToken);
      expect(first).toHaveLength(1);
      // The worker's TLS_EXTRA_CA_FILE made the token endpoint's certificate trusted.
      expect(first[0]).toMatchObject({ status: 200, contentType: 'application/x-www-form-urlencoded' });
      const [after] = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.reportMailboxes));
      const rotated = box
        .open(after!.oauthRefreshTokenCiphertext!, mailboxRefreshTokenContext(row!.id))
        .toString();
      expect(rotated).not.toBe(refreshToken);
      expect(provider.liveRefreshTokens()).toContain(rotated);

      // The next poll logs in with the token the worker keeps: the endpoint is not asked again.
      const requests = provider.tokenRequests.length;
      expect(await poll('second')).toMatchObject({ state: 'polled', stored: 0 });
      expect(provider.tokenRequests.length).toBe(requests);
      expect(await service.get(tenant.id, view.id)).toMatchObject({ status: 'ok', lastError: null });
    } finally {
      provider.rotate = false;
      resolver.close();
    }
  });
});
