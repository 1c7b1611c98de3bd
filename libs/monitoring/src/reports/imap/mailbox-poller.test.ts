/**
 * The IMAP report intake against a real Dovecot on loopback (implicit TLS and STARTTLS, a
 * certificate from the test CA), the run's Postgres as the app role under RLS, and a real BullMQ
 * queue: messages are committed before they are moved or flagged, a crash in between loses and
 * doubles nothing, failures become stable codes on the mailbox, and the SSRF guard decides what
 * may be dialled. Nothing is mocked; the one injected fault is an enqueue that throws.
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
import { startCanary } from '@mailwarden/testing/https-server';
import { createTestCa } from '@mailwarden/testing/tls';
import { Queue } from 'bullmq';
import { eq } from 'drizzle-orm';
import { ImapFlow } from 'imapflow';
import type pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../raw-reports.ts';
import { createMailboxPoller, type MailboxPollerOptions, storedKeyword } from './mailbox-poller.ts';
import { createReportMailboxesService, type ReportMailboxInput } from './report-mailboxes.service.ts';

let pool: pg.Pool;
let db: Database;
let dovecot: TestDovecot;
let dns: TestDnsServer;
let resolver: DnsClient;
let redis: RedisConnection;
let producer: ReturnType<typeof createProducer>;
let parseQueue: Queue;
const prefix = `test-${randomUUID()}`;
const box = createSecretBox(Buffer.alloc(32, 7));
const loopback = (() => {
  const parsed = parseAllowList('127.0.0.0/8');
  if (!parsed.ok) throw new Error(parsed.errors.join());
  return parsed.allow;
})();
const log: Logger = pino({ level: 'silent' });
const users = Array.from({ length: 30 }, (_, i) => ({
  name: `u${i}`,
  password: `secret-${i}-${randomUUID()}`,
}));
let nextUser = 0;

const corpus = (...parts: string[]) => readFileSync(corpusPath('dmarc-aggregate', ...parts));
const gzReport = () =>
  buildReportMail({
    attachment: corpus(
      'samuelba-dmarc-report-visualizer',
      'google.com!example.com!1701129600!1701215999.xml.gz',
    ),
    filename: 'google.com!example.com!1701129600!1701215999.xml.gz',
  });
const zipReport = () =>
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

function poller(overrides: Partial<MailboxPollerOptions> = {}) {
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
async function setup(input: Partial<ReportMailboxInput> = {}, allow = loopback) {
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

async function mailbox(tenantId: string) {
  const [row] = await withTenant(db, tenantId, (tx) => tx.select().from(schema.reportMailboxes));
  return row!;
}

async function rawReports(tenantId: string) {
  return withTenant(db, tenantId, (tx) =>
    tx.select().from(schema.rawReports).orderBy(schema.rawReports.receivedAt),
  );
}

/** The tenant's outbox, oldest first. */
async function events(tenantId: string) {
  return withTenant(db, tenantId, (tx) =>
    tx.select().from(schema.monitoringEvents).orderBy(schema.monitoringEvents.id),
  );
}

/** Flags of every message in a folder, read over IMAP as a mail client would. */
async function flagsIn(user: { name: string; password: string }, folder: string): Promise<string[][]> {
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

describe('IMAP report intake', () => {
  it('should store each message, enqueue its parse and only then move it, over implicit TLS', async () => {
    const { tenantId, user, mailboxId } = await setup();
    const first = await gzReport();
    const second = await zipReport();
    dovecot.deliver(user.name, first);
    dovecot.deliver(user.name, second);

    const result = await poller().poll(tenantId, mailboxId, log);
    expect(result, JSON.stringify(result.error)).toMatchObject({
      state: 'polled',
      stored: 2,
      duplicates: 0,
      skippedTooLarge: 0,
      more: false,
    });

    const raw = await rawReports(tenantId);
    expect(raw.map((r) => r.receivedVia)).toEqual(['imap', 'imap']);
    expect(raw.map((r) => r.sha256).sort()).toEqual([sha256Hex(first), sha256Hex(second)].sort());
    expect(raw.map((r) => r.parseState)).toEqual(['pending', 'pending']);
    for (const r of raw) {
      const job = await parseQueue.getJob(parseReportJobId(r.id));
      expect(job?.data).toEqual({ tenantId, rawReportId: r.id });
    }
    expect(dovecot.count(user.name)).toBe(0);
    expect(dovecot.count(user.name, 'Mailwarden/Processed')).toBe(2);

    const row = await mailbox(tenantId);
    expect(row).toMatchObject({
      lastErrorCode: null,
      consecutiveFailures: 0,
      lastStoredCount: 2,
      leaseUntil: null,
    });
    expect(row.lastSuccessAt).not.toBeNull();
    expect(row.nextPollAt.getTime() - row.lastPolledAt!.getTime()).toBe(300_000);

    // A second poll finds nothing new and stores nothing.
    const again = await poller().poll(tenantId, mailboxId, log);
    expect(again).toMatchObject({ state: 'polled', stored: 0 });
    expect(await rawReports(tenantId)).toHaveLength(2);
  });

  it('should resolve the host through DNS, use STARTTLS, and flag instead of moving', async () => {
    const { tenantId, user, mailboxId } = await setup({
      host: 'imap.test',
      port: dovecot.imapPort,
      security: 'starttls',
      afterStore: 'flag',
    });
    dovecot.deliver(user.name, await gzReport());
    dns.clearLog();

    const result = await poller().poll(tenantId, mailboxId, log);
    expect(result).toMatchObject({ state: 'polled', stored: 1 });
    expect(dns.queriesFor('imap.test', 'A')).toHaveLength(1);
    // Still in INBOX, seen and marked stored; no Processed folder was made.
    expect(await flagsIn(user, 'INBOX')).toEqual([[storedKeyword, '\\Seen'].sort()]);
    expect(dovecot.count(user.name, 'Mailwarden/Processed')).toBe(0);

    // The keyword keeps it out of the next poll; a new message is taken.
    dovecot.deliver(user.name, await zipReport());
    expect(await poller().poll(tenantId, mailboxId, log)).toMatchObject({ stored: 1 });
    expect(await poller().poll(tenantId, mailboxId, log)).toMatchObject({ stored: 0 });
    expect(await rawReports(tenantId)).toHaveLength(2);
  });

  it('should leave a message whose parse could not be enqueued and store it once when polled again', async () => {
    const { tenantId, user, mailboxId } = await setup();
    const bytes = await gzReport();
    dovecot.deliver(user.name, bytes);

    // A crash between commit and acknowledgement: the enqueue throws, the move never happens.
    const broken = poller({
      enqueueParse: async () => {
        throw new Error('redis is gone');
      },
    });
    const failed = await broken.poll(tenantId, mailboxId, log);
    expect(failed).toMatchObject({ state: 'failed', stored: 0, error: { code: 'imap.queue_unavailable' } });
    const [raw] = await rawReports(tenantId);
    expect(raw?.sha256).toBe(sha256Hex(bytes));
    expect(dovecot.count(user.name)).toBe(1);
    expect(await mailbox(tenantId)).toMatchObject({
      lastErrorCode: 'imap.queue_unavailable',
      consecutiveFailures: 1,
    });

    const retried = await poller().poll(tenantId, mailboxId, log);
    expect(retried).toMatchObject({ state: 'polled', stored: 1, duplicates: 1 });
    const after = await rawReports(tenantId);
    expect(after.map((r) => r.id)).toEqual([raw!.id]);
    expect(await parseQueue.getJob(parseReportJobId(raw!.id))).toBeTruthy();
    expect(dovecot.count(user.name)).toBe(0);
    expect(dovecot.count(user.name, 'Mailwarden/Processed')).toBe(1);
    expect(await mailbox(tenantId)).toMatchObject({ lastErrorCode: null, consecutiveFailures: 0 });
    // One failure is no alert, and the success after it recovers nothing.
    expect(failed.eventIds).toEqual([]);
    expect(retried.eventIds).toEqual([]);
    expect(await events(tenantId)).toEqual([]);
  });

  it('should record a wrong password as imap.auth_failed with a growing backoff, then failing', async () => {
    const { tenantId, mailboxId, service, view } = await setup();
    await service.update(tenantId, view.id, { password: 'not-the-password' });
    const p = poller();
    // Every log line at every level, to prove the password is never in one.
    const lines: string[] = [];
    const verbose = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
    for (let i = 1; i <= 5; i++) {
      const result = await p.poll(tenantId, mailboxId, verbose);
      expect(result).toMatchObject({ state: 'failed', error: { code: 'imap.auth_failed' } });
      const row = await mailbox(tenantId);
      expect(row.consecutiveFailures).toBe(i);
      expect(row.nextPollAt.getTime() - row.lastPolledAt!.getTime()).toBe(300_000 * 2 ** (i - 1));
    }
    const shown = await service.get(tenantId, view.id);
    expect(shown).toMatchObject({ status: 'failing', lastError: { code: 'imap.auth_failed' } });
    expect(JSON.stringify(shown)).not.toContain('not-the-password');
    expect(lines.some((l) => l.includes('imap.auth_failed'))).toBe(true);
    expect(lines.some((l) => l.includes('report mailbox failing'))).toBe(true);
    expect(lines.join('\n')).not.toContain('not-the-password');
  });

  it('should raise report_mailbox.failing once at the 5th failure in a row and .recovered after the fix', async () => {
    const { tenantId, user, mailboxId, service, view } = await setup({ folder: 'INBOX' });
    await service.update(tenantId, view.id, { password: 'not-the-password' });
    const p = poller();
    const mailboxRef = {
      id: mailboxId,
      host: '127.0.0.1',
      port: dovecot.imapsPort,
      username: user.name,
      folder: 'INBOX',
    };
    for (let i = 1; i <= 4; i++) {
      const result = await p.poll(tenantId, mailboxId, log);
      expect(result).toMatchObject({ state: 'failed', eventIds: [] });
    }
    expect(await events(tenantId)).toEqual([]);

    // The 5th: one event, committed with the mailbox row (the same occurred/polled time).
    const fifth = await p.poll(tenantId, mailboxId, log);
    expect(fifth.eventIds).toHaveLength(1);
    const [failing, ...none] = await events(tenantId);
    expect(none).toEqual([]);
    expect(failing).toMatchObject({
      id: fifth.eventIds[0],
      tenantId,
      domainId: null,
      type: 'report_mailbox.failing',
      severity: 'high',
      suppressed: null,
      dispatchedAt: null,
      payload: {
        mailbox: mailboxRef,
        lastError: { code: 'imap.auth_failed', detail: expect.any(String) },
        consecutiveFailures: 5,
        lastSuccessAt: null,
      },
    });
    expect(JSON.stringify(failing!.payload)).not.toMatch(/not-the-password|secret-|passwordCiphertext/);
    const row = await mailbox(tenantId);
    expect(row.failingReportedAt).toEqual(failing!.occurredAt);
    expect(row.lastPolledAt).toEqual(failing!.occurredAt);

    // The 6th failure raises nothing more.
    const sixth = await p.poll(tenantId, mailboxId, log);
    expect(sixth).toMatchObject({ state: 'failed', eventIds: [] });
    expect(await mailbox(tenantId)).toMatchObject({ consecutiveFailures: 6 });

    // Another wrong password clears the streak; five more failures are the same failing spell.
    await service.update(tenantId, view.id, { password: 'still-not-the-password' });
    for (let i = 1; i <= 5; i++)
      expect(await p.poll(tenantId, mailboxId, log)).toMatchObject({ state: 'failed', eventIds: [] });
    expect(await events(tenantId)).toHaveLength(1);

    // The fix clears the streak too (a settings change), and the first success closes the alert.
    await service.update(tenantId, view.id, { password: user.password });
    expect(await mailbox(tenantId)).toMatchObject({ consecutiveFailures: 0 });
    const fixed = await p.poll(tenantId, mailboxId, log);
    expect(fixed).toMatchObject({ state: 'polled', stored: 0 });
    expect(fixed.eventIds).toHaveLength(1);
    const all = await events(tenantId);
    expect(all.map((e) => e.type)).toEqual(['report_mailbox.failing', 'report_mailbox.recovered']);
    expect(all[1]).toMatchObject({
      id: fixed.eventIds[0],
      domainId: null,
      severity: 'info',
      suppressed: null,
      payload: {
        mailbox: mailboxRef,
        lastError: { code: 'imap.auth_failed' },
        consecutiveFailures: 0,
        failingSince: failing!.occurredAt.toISOString(),
      },
    });
    expect(await mailbox(tenantId)).toMatchObject({ failingReportedAt: null, lastErrorCode: null });

    // Healthy polls after it raise nothing; a new spell would alert again.
    expect(await p.poll(tenantId, mailboxId, log)).toMatchObject({ state: 'polled', eventIds: [] });
    expect(await events(tenantId)).toHaveLength(2);
  });

  it('should raise report_mailbox.recovered when the server comes back without a settings change', async () => {
    // The server is down for 5 polls (a closed port), then answers again. The port is put back
    // with SQL, not through the service, so the streak is not cleared: the outage ends by itself.
    const closedPort = await freePort();
    const { tenantId, mailboxId } = await setup({ port: closedPort });
    const p = poller();
    for (let i = 1; i <= 5; i++) await p.poll(tenantId, mailboxId, log);
    expect((await events(tenantId)).map((e) => [e.type, e.payload.consecutiveFailures])).toEqual([
      ['report_mailbox.failing', 5],
    ]);
    await withTenant(db, tenantId, (tx) =>
      tx
        .update(schema.reportMailboxes)
        .set({ port: dovecot.imapsPort })
        .where(eq(schema.reportMailboxes.id, mailboxId)),
    );
    const back = await p.poll(tenantId, mailboxId, log);
    expect(back).toMatchObject({ state: 'polled' });
    const recovered = (await events(tenantId)).at(-1);
    expect(recovered).toMatchObject({
      type: 'report_mailbox.recovered',
      payload: { consecutiveFailures: 5, lastError: { code: 'imap.connect_refused' } },
    });
  });

  it('should refuse a certificate it does not trust, over implicit TLS and STARTTLS', async () => {
    const untrusting = poller({ ca: [(await createTestCa({ fresh: true })).certPem] });
    for (const [security, port] of [
      ['tls', dovecot.imapsPort],
      ['starttls', dovecot.imapPort],
    ] as const) {
      const { tenantId, user, mailboxId } = await setup({ host: 'imap.test', security, port });
      dovecot.deliver(user.name, await gzReport());
      const result = await untrusting.poll(tenantId, mailboxId, log);
      expect(result, security).toMatchObject({ state: 'failed', error: { code: 'imap.tls_failed' } });
      expect(await rawReports(tenantId)).toHaveLength(0);
      expect(dovecot.count(user.name)).toBe(1);
    }
  });

  it('should refuse a certificate for another name', async () => {
    // The certificate names imap.test, localhost and 127.0.0.1; this name resolves to it too.
    dns.setRecords('other.test', 'A', ['127.0.0.1']);
    const { tenantId, mailboxId } = await setup({ host: 'other.test' });
    const result = await poller().poll(tenantId, mailboxId, log);
    expect(result.error?.code).toBe('imap.tls_failed');
    expect(result.error?.detail).toMatch(/ALTNAME|altname|not in the cert/i);
  });

  it('should never dial a host outside the allowed ranges', async () => {
    const canary = await startCanary({ host: '127.0.0.77' });
    try {
      const { tenantId, mailboxId } = await setup({ host: '127.0.0.77', port: canary.port });
      // The same mailbox polled by a worker that allows no private range: refused before any connect.
      const strict = poller({ allow: [] });
      const result = await strict.poll(tenantId, mailboxId, log);
      expect(result).toMatchObject({ state: 'failed', error: { code: 'imap.host_refused' } });
      expect(canary.seen).toEqual([]);

      // A name resolving to a private address is refused too, without dialling anything.
      const named = await setup({ host: 'imap.test' });
      await withTenant(db, named.tenantId, (tx) =>
        tx
          .update(schema.reportMailboxes)
          .set({ host: 'private.test' })
          .where(eq(schema.reportMailboxes.id, named.mailboxId)),
      );
      const viaDns = await poller().poll(named.tenantId, named.mailboxId, log);
      expect(viaDns).toMatchObject({ state: 'failed', error: { code: 'imap.host_refused' } });
      expect(viaDns.error?.detail).toContain('10.0.0.25');
    } finally {
      await canary.close();
    }
  });

  it('should refuse to save a private or loopback host unless the range is allowed', async () => {
    const tenant = await createTestTenant(db);
    const strict = createReportMailboxesService({
      db,
      clock: systemClock,
      box,
      vet: { resolver, allow: [] },
    });
    for (const host of ['127.0.0.1', 'private.test', '169.254.169.254', '[::1]', 'no-such-name.test']) {
      await expect(
        strict.create(tenant.id, { host, security: 'tls', username: 'u', password: 'p' }),
        host,
      ).rejects.toMatchObject({ code: 'mailbox_host_refused' });
    }
    expect(await strict.list(tenant.id)).toEqual([]);
  });

  it('should leave a message over the size limit where it is and take the others', async () => {
    const { tenantId, user, mailboxId } = await setup();
    const small = await gzReport();
    const big = await buildReportMail({
      attachment: Buffer.from('<feedback/>'),
      filename: 'big.xml',
      padding: 200_000,
    });
    dovecot.deliver(user.name, big);
    dovecot.deliver(user.name, small);
    const result = await poller({ maxMessageBytes: 100_000 }).poll(tenantId, mailboxId, log);
    expect(result).toMatchObject({ state: 'polled', stored: 1, skippedTooLarge: 1 });
    const raw = await rawReports(tenantId);
    expect(raw.map((r) => r.sha256)).toEqual([sha256Hex(small)]);
    expect(dovecot.count(user.name)).toBe(1);
    expect(await mailbox(tenantId)).toMatchObject({ lastSkippedCount: 1, lastErrorCode: null });
  });

  it('should take at most the per-poll number of messages and come back at once for the rest', async () => {
    const { tenantId, user, mailboxId } = await setup();
    for (let i = 0; i < 3; i++) dovecot.deliver(user.name, await gzReport());
    const limited = poller({ maxMessagesPerPoll: 2 });
    const first = await limited.poll(tenantId, mailboxId, log);
    expect(first).toMatchObject({ stored: 2, more: true });
    const row = await mailbox(tenantId);
    expect(row.nextPollAt.getTime()).toBe(row.lastPolledAt!.getTime());
    expect(await limited.poll(tenantId, mailboxId, log)).toMatchObject({ stored: 1, more: false });
    expect(await rawReports(tenantId)).toHaveLength(3);
  });

  it('should let one poll at a time hold a mailbox and skip disabled ones', async () => {
    const { tenantId, user, mailboxId, service, view } = await setup();
    dovecot.deliver(user.name, await gzReport());
    const p = poller();
    const [a, b] = await Promise.all([p.poll(tenantId, mailboxId, log), p.poll(tenantId, mailboxId, log)]);
    expect([a.state, b.state].sort()).toEqual(['polled', 'skipped']);
    expect(a.stored + b.stored).toBe(1);
    await service.update(tenantId, view.id, { enabled: false });
    expect(await p.poll(tenantId, mailboxId, log)).toMatchObject({ state: 'skipped' });
  });

  it('should name a missing folder, a refused connection and a server without STARTTLS', async () => {
    const missing = await setup({ folder: 'Reports/Nowhere' });
    expect((await poller().poll(missing.tenantId, missing.mailboxId, log)).error?.code).toBe(
      'imap.folder_missing',
    );

    const closedPort = await freePort();
    const refused = await setup({ port: closedPort });
    expect((await poller().poll(refused.tenantId, refused.mailboxId, log)).error?.code).toBe(
      'imap.connect_refused',
    );

    // A server that greets in cleartext and offers no STARTTLS never receives the password.
    const seen: string[] = [];
    const server = net.createServer((socket) => {
      socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here\r\n');
      socket.on('data', (chunk) => {
        for (const line of chunk.toString().split('\r\n').filter(Boolean)) {
          seen.push(line);
          const tag = line.split(' ')[0];
          if (/ CAPABILITY$/i.test(line))
            socket.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
          else socket.write(`${tag} BAD no\r\n`);
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const plain = await setup({ security: 'starttls', port });
      const result = await poller().poll(plain.tenantId, plain.mailboxId, log);
      expect(result.error?.code).toBe('imap.starttls_unavailable');
      expect(seen.join('\n')).not.toMatch(/LOGIN|AUTHENTICATE|secret-/i);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('should bound a server that never answers by the connect timeout and the poll deadline', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const { tenantId, mailboxId } = await setup({ port });
      const started = Date.now();
      const timedOut = await poller({ connectTimeoutMs: 300 }).poll(tenantId, mailboxId, log);
      expect(timedOut.error?.code).toBe('imap.timeout');
      const cut = await poller({ connectTimeoutMs: 5_000, pollDeadlineMs: 300 }).poll(
        tenantId,
        mailboxId,
        log,
      );
      expect(cut.error?.code).toBe('imap.deadline_exceeded');
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(await mailbox(tenantId)).toMatchObject({ consecutiveFailures: 2, leaseUntil: null });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('should keep the password sealed and bound to its mailbox', async () => {
    const { tenantId, user } = await setup();
    const row = await mailbox(tenantId);
    expect(row.passwordCiphertext).not.toContain(user.password);
    expect(box.open(row.passwordCiphertext!, `report-mailbox:${row.id}`).toString()).toBe(user.password);
    expect(() => box.open(row.passwordCiphertext!, 'report-mailbox:another')).toThrow();
  });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
