/**
 * Issue 5 §7, end to end through the public API: sign up, add and verify a domain served by the
 * loopback DNS server, subscribe a webhook receiver that verifies every delivery with the
 * `standardwebhooks` package, break the domain's DMARC record and receive `finding.opened`, fix it
 * while the receiver is down and receive `finding.resolved` once it is back (retries). The API and
 * the worker are the real apps (buildApp, buildWorker) on the run's Postgres and the local Redis,
 * sharing one queue prefix and one encryption key as a deployment does.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@mailwarden/core';
import { createPool } from '@mailwarden/db';
import { allQueueNames, createRedisConnection } from '@mailwarden/queue';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, createApiContainer, fastifyOptions, loadApiConfig } from '../apps/api/src/index.ts';
import { loadWorkerConfig } from '../apps/worker/src/config.ts';
import { buildWorker, type MailwardenWorker } from '../apps/worker/src/worker.ts';

const RECEIVER_HOST = '127.0.0.71';
const ENCRYPTION_KEY = Buffer.alloc(32, 11).toString('base64');
const PASSWORD = 'correct horse battery staple 2026!';
const prefix = `e2e-${randomUUID()}`;

interface Received {
  type: string;
  data: { domain?: { id: string; name: string }; finding?: { code: string } };
  verified: boolean;
}

let dns: TestDnsServer;
let receiver: Server;
let receiverPort: number;
let receiverStatus = 200;
let secret = '';
const received: Received[] = [];
let app: FastifyInstance;
let closeApi: () => Promise<void>;
let worker: MailwardenWorker;
let workerPool: ReturnType<typeof createPool>;

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dns = await startDnsServer({ host: '127.0.0.1' });
  dns.setZone('test', {});
  dns.setZone('2.0.192.in-addr.arpa', {});
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (receiverStatus !== 200) {
        res.writeHead(receiverStatus).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
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
      received.push({ ...(JSON.parse(body) as Omit<Received, 'verified'>), verified });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, RECEIVER_HOST, resolve));
  receiverPort = (receiver.address() as AddressInfo).port;

  const shared = {
    MAILWARDEN_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: 'redis://127.0.0.1:6379',
    DNS_SERVERS: dns.address,
    PROBE_ALLOW_CIDRS: '127.0.0.0/8',
    ENCRYPTION_KEY,
  };
  const apiConfig = loadApiConfig({
    ...shared,
    REDIS_KEY_PREFIX: prefix,
    QUEUE_PREFIX: prefix,
    SCAN_NOW_INTERVAL_SECONDS: '1',
  });
  const container = createApiContainer(apiConfig);
  app = Fastify(fastifyOptions(apiConfig));
  await app.register(buildApp(apiConfig, container));
  await app.ready();
  closeApi = async () => {
    await app.close();
    await container.close();
  };

  const workerConfig = loadWorkerConfig({
    ...shared,
    QUEUE_PREFIX: prefix,
    WORKER_HTTP_PORT: '0',
    SCHEDULER_TICK_MS: '1000',
    DNS_TIMEOUT_MS: '300',
  });
  workerPool = createPool(shared.DATABASE_URL, { max: 8 });
  worker = buildWorker(workerConfig, {
    logger: createLogger('silent', 'e2e'),
    pool: workerPool,
    createConnection: (role) => createRedisConnection(shared.REDIS_URL, role),
  });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  await closeApi?.();
  await workerPool?.end();
  const connection = createRedisConnection('redis://127.0.0.1:6379', 'producer');
  for (const name of allQueueNames) await new Queue(name, { connection, prefix }).obliterate({ force: true });
  await connection.quit();
  await new Promise((r) => receiver?.close(r));
  await dns?.close();
});

describe('monitoring, end to end through the API', () => {
  it('should alert a regression by signed webhook and report the fix after the receiver comes back', {
    timeout: 150_000,
  }, async () => {
    const apex = `e2e-${Date.now()}.test`;
    const zone = (dmarc: string) => ({
      ttl: 1,
      soa: { minimum: 1, ttl: 1 },
      records: {
        '@': { MX: [{ preference: 10, exchange: `mx.${apex}` }], TXT: ['v=spf1 -all'] },
        mx: { A: ['192.0.2.25'] },
        _dmarc: { TXT: [dmarc] },
        hooks: { A: [RECEIVER_HOST] },
      },
    });
    dns.setZone(apex, zone(`v=DMARC1; p=reject; rua=mailto:d@${apex}`));

    // Sign up: a tenant and its owner.
    const signup = await app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: {
        email: `owner-${randomUUID().slice(0, 8)}@customer.test`,
        password: PASSWORD,
        tenantName: 'E2E',
      },
    });
    expect(signup.statusCode, signup.body).toBe(201);
    const auth = { authorization: `Bearer ${signup.json().accessToken}` };

    // A webhook endpoint on the local receiver (resolved through the test DNS server).
    const hook = await app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: auth,
      payload: {
        format: 'standard',
        target: `http://hooks.${apex}:${receiverPort}/mailwarden`,
        events: ['domain.verified', 'finding.opened', 'finding.resolved'],
      },
    });
    expect(hook.statusCode, hook.body).toBe(201);
    secret = hook.json().secret;

    // Add the domain, publish its token, verify.
    const added = await app.inject({
      method: 'POST',
      url: '/v1/domains',
      headers: auth,
      payload: { name: apex },
    });
    expect(added.statusCode, added.body).toBe(201);
    const domain = added.json();
    dns.setRecords(`_mailwarden.${apex}`, 'TXT', [domain.verification.recordValue]);
    const verify = await app.inject({
      method: 'POST',
      url: `/v1/domains/${domain.id}/verify`,
      headers: auth,
    });
    expect(verify.statusCode, verify.body).toBe(200);
    const verified = await waitFor('domain.verified', () =>
      received.find((r) => r.type === 'domain.verified' && r.data.domain?.name === apex),
    );
    expect(verified.verified).toBe(true);

    // The regression (the tick has picked the new domain up meanwhile).
    dns.setRecords(`_dmarc.${apex}`, 'TXT', [`v=DMARC1; p=none; rua=mailto:d@${apex}`]);
    await sleep(2_100); // the worker's cache holds the old answer for its one-second TTL
    const scan = await app.inject({ method: 'POST', url: `/v1/domains/${domain.id}/scan`, headers: auth });
    expect(scan.statusCode, scan.body).toBe(202);
    const opened = await waitFor('finding.opened dmarc.policy_none', () =>
      received.find((r) => r.type === 'finding.opened' && r.data.finding?.code === 'dmarc.policy_none'),
    );
    expect(opened.verified).toBe(true);
    expect(opened.data.domain?.id).toBe(domain.id);

    // The finding is visible through the API too.
    const findings = await app.inject({
      method: 'GET',
      url: `/v1/findings?domainId=${domain.id}&state=open`,
      headers: auth,
    });
    expect(findings.json().items.map((f: { code: string }) => f.code)).toContain('dmarc.policy_none');

    // The receiver goes down; fix the record and scan again: delivered after a retry.
    receiverStatus = 503;
    dns.setRecords(`_dmarc.${apex}`, 'TXT', [`v=DMARC1; p=reject; rua=mailto:d@${apex}`]);
    await sleep(2_100);
    const rescan = await app.inject({ method: 'POST', url: `/v1/domains/${domain.id}/scan`, headers: auth });
    expect(rescan.statusCode, rescan.body).toBe(202);
    const endpointId = hook.json().endpoint.id;
    let sawFailure = false;
    const deadline = Date.now() + 30_000;
    while (!sawFailure && Date.now() < deadline) {
      const deliveries = await app.inject({
        method: 'GET',
        url: `/v1/webhooks/${endpointId}/deliveries`,
        headers: auth,
      });
      sawFailure = deliveries
        .json()
        .items.some((d: { attempts: { statusCode: number | null }[] }) =>
          d.attempts.some((a) => a.statusCode === 503),
        );
      if (!sawFailure) await sleep(200);
    }
    expect(sawFailure).toBe(true);
    receiverStatus = 200;
    const resolved = await waitFor(
      'finding.resolved after the retry',
      () =>
        received.find((r) => r.type === 'finding.resolved' && r.data.finding?.code === 'dmarc.policy_none'),
      30_000,
    );
    expect(resolved.verified).toBe(true);
  });
});
