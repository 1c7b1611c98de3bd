/**
 * The monitoring pipeline in one worker, against real pieces: Postgres (app role, RLS), Redis
 * (BullMQ with its own prefix), the loopback DNS server, and a webhook receiver on 127.0.0.x that
 * verifies every delivery with the `standardwebhooks` package. The scheduler tick runs every
 * second; "scan now" (the API's path) makes checks due at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhooksService } from '@mailwarden/alerts';
import { createLogger, createSecretBox, systemClock } from '@mailwarden/core';
import { createDatabase, createPool, type Database, schema, withTenant } from '@mailwarden/db';
import { createDomainsService, enqueueChecks } from '@mailwarden/monitoring';
import { createDnsClient, type DnsClient, parseAllowList } from '@mailwarden/net';
import { allQueueNames, createRedisConnection } from '@mailwarden/queue';
import { createTestTenant } from '@mailwarden/testing/db';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './config.ts';
import { baseEnv, obliterate, postgresUrl, redisUrl, uniquePrefix } from './test-kit.ts';
import { buildWorker, type MailwardenWorker } from './worker.ts';

const RECEIVER_HOST = '127.0.0.61';

function allowLoopback() {
  const parsed = parseAllowList('127.0.0.0/8');
  if (!parsed.ok) throw new Error('allow list');
  return parsed.allow;
}
const ENCRYPTION_KEY = Buffer.alloc(32, 9).toString('base64');

interface Received {
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: received JSON, read field by field in assertions
  data: Record<string, any>;
  verified: boolean;
}

let dns: TestDnsServer;
let client: DnsClient;
let receiver: Server;
let receiverPort: number;
let receiverStatus = 200;
const received: Received[] = [];
let secret = '';
let pool: ReturnType<typeof createPool>;
let db: Database;
let worker: MailwardenWorker;
const prefix = uniquePrefix();

/** TTLs of one second: the worker's DNS cache honours them, so a changed record is seen next run. */
function zone(apex: string, dmarc: string) {
  return {
    ttl: 1,
    soa: { minimum: 1, ttl: 1 },
    records: {
      '@': { MX: [{ preference: 10, exchange: `mx.${apex}` }], TXT: ['v=spf1 -all'] },
      mx: { A: ['192.0.2.25'] },
      _dmarc: { TXT: [dmarc] },
      hooks: { A: [RECEIVER_HOST] },
    },
  };
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 40_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  dns = await startDnsServer({ host: '127.0.0.1' });
  dns.setZone('test', {});
  dns.setZone('2.0.192.in-addr.arpa', {});
  client = createDnsClient({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 300, cache: false });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (receiverStatus !== 200) {
        res.writeHead(receiverStatus).end();
        return;
      }
      let verified = false;
      try {
        new Webhook(secret).verify(body, {
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
  const config = loadWorkerConfig({
    ...baseEnv(prefix),
    LOG_LEVEL: 'silent',
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT_MS: '300',
    PROBE_ALLOW_CIDRS: '127.0.0.0/8',
    SCHEDULER_TICK_MS: '1000',
    ENCRYPTION_KEY,
  });
  worker = buildWorker(config, {
    logger: createLogger('silent', 'pipeline-test'),
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
  await pool?.end();
  client?.close();
  await dns?.close();
  await new Promise((r) => receiver?.close(r));
});

describe('the monitoring pipeline', () => {
  it('should alert a signed webhook on a regression, retry while the receiver is down, and report the fix', {
    timeout: 120_000,
  }, async () => {
    const apex = `pipe-${Date.now()}.test`;
    dns.setZone(apex, zone(apex, `v=DMARC1; p=reject; rua=mailto:d@${apex}`));
    const tenant = await createTestTenant(db);
    const domains = createDomainsService({ db, clock: systemClock, resolver: client });
    const webhooks = createWebhooksService({
      db,
      clock: systemClock,
      box: createSecretBox(Buffer.from(ENCRYPTION_KEY, 'base64')),
      runtime: { resolver: client, allow: allowLoopback() },
    });
    const endpoint = await webhooks.create(tenant.id, {
      format: 'standard',
      target: `http://hooks.${apex}:${receiverPort}/mailwarden`,
      events: ['finding.opened', 'finding.resolved', 'domain.verified'],
    });
    secret = endpoint.secret!;
    const added = await domains.add(tenant.id, apex);
    dns.setRecords(`_mailwarden.${apex}`, 'TXT', [added.verification.recordValue]);

    // The tick picks the new domain up by itself: verified, and the first findings alerted.
    const verified = await waitFor('domain.verified', () =>
      received.find((r) => r.type === 'domain.verified' && r.data.domain.name === apex),
    );
    expect(verified.verified).toBe(true);
    expect(verified.data.domain.id).toBe(added.id);

    // Break DMARC and scan now.
    dns.setRecords(`_dmarc.${apex}`, 'TXT', [`v=DMARC1; p=none; rua=mailto:d@${apex}`]);
    // The worker's cache holds the old answer for its one-second TTL.
    await new Promise((r) => setTimeout(r, 2_100));
    await enqueueChecks(worker.producer, await domains.scanNow(tenant.id, added.id));
    const opened = await waitFor('finding.opened dmarc.policy_none', () =>
      received.find((r) => r.type === 'finding.opened' && r.data.finding.code === 'dmarc.policy_none'),
    );
    expect(opened.verified).toBe(true);
    expect(opened.data.domain.name).toBe(apex);
    expect(opened.data.finding.remediation).toMatch(/quarantine|reject/);

    // The receiver goes down; the fix is delivered once it is back (first retry after ~5 s).
    receiverStatus = 503;
    dns.setRecords(`_dmarc.${apex}`, 'TXT', [`v=DMARC1; p=reject; rua=mailto:d@${apex}`]);
    await new Promise((r) => setTimeout(r, 2_100)); // the cached answer expires; a new scan-now slot
    await enqueueChecks(worker.producer, await domains.scanNow(tenant.id, added.id));
    const failedAttempt = await waitFor('a failed attempt', async () => {
      const rows = await withTenant(db, tenant.id, (tx) =>
        tx.select().from(schema.webhookAttempts).where(eq(schema.webhookAttempts.statusCode, 503)),
      );
      return rows[0];
    });
    expect(failedAttempt.error).toBe('http_status');
    receiverStatus = 200;
    const resolved = await waitFor(
      'finding.resolved after the retry',
      () =>
        received.find((r) => r.type === 'finding.resolved' && r.data.finding.code === 'dmarc.policy_none'),
      20_000,
    );
    expect(resolved.verified).toBe(true);

    // Each event reached the receiver once: deliveries are unique per endpoint and event.
    const codes = received.filter((r) => r.type === 'finding.opened').map((r) => r.data.finding.id);
    expect(new Set(codes).size).toBe(codes.length);
    const deliveries = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.webhookDeliveries));
    expect(deliveries.every((d) => d.state === 'succeeded')).toBe(true);

    // The worker counted the runs it stored: the tick's first run and the two scans, at least.
    const runs = await worker.metrics.getSingleMetric('mailwarden_check_runs_total')!.get();
    const storedDns = runs.values.find((v) => v.labels.family === 'dns' && v.labels.result === 'stored');
    expect(storedDns?.value).toBeGreaterThanOrEqual(3);
  });
});
