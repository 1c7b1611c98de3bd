/**
 * What the schedule survives (issue 5 §2): a worker killed with SIGKILL in the middle of a check
 * loses nothing and stores its run once; Redis emptied of every queue key loses no schedule — the
 * next tick rebuilds the work from Postgres. Real worker processes (main.ts), real Redis/Postgres,
 * the loopback DNS server with a delay fault to hold a check in flight.
 */
import { systemClock } from '@mailwarden/core';
import { createDatabase, createPool, type Database, schema, withTenant } from '@mailwarden/db';
import { createDomainsService } from '@mailwarden/monitoring';
import { createDnsClient, type DnsClient } from '@mailwarden/net';
import {
  allQueueNames,
  createRedisConnection,
  digestSchedulerId,
  queueNames,
  type RedisConnection,
} from '@mailwarden/queue';
import { createTestTenant } from '@mailwarden/testing/db';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  baseEnv,
  mainPath,
  obliterate,
  postgresUrl,
  redisUrl,
  spawnEntry,
  uniquePrefix,
} from './test-kit.ts';

let dns: TestDnsServer;
let client: DnsClient;
let pool: ReturnType<typeof createPool>;
let db: Database;
let connection: RedisConnection;
const prefixes: string[] = [];

const quick = {
  WORKER_LOCK_DURATION_MS: '1000',
  WORKER_STALLED_INTERVAL_MS: '250',
  SCHEDULER_TICK_MS: '1000',
  DNS_TIMEOUT_MS: '3000',
  LOG_LEVEL: 'info',
};

function zone(apex: string) {
  return {
    ttl: 1,
    soa: { minimum: 1, ttl: 1 },
    records: {
      '@': { MX: [{ preference: 10, exchange: `mx.${apex}` }], TXT: ['v=spf1 -all'] },
      mx: { A: ['192.0.2.25'] },
      _dmarc: { TXT: [`v=DMARC1; p=none; rua=mailto:d@${apex}`] },
    },
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function runsOf(tenantId: string) {
  return withTenant(db, tenantId, (tx) => tx.select().from(schema.checkRuns));
}

beforeAll(async () => {
  dns = await startDnsServer({ host: '127.0.0.1' });
  dns.setZone('test', {});
  dns.setZone('2.0.192.in-addr.arpa', {});
  client = createDnsClient({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 300, cache: false });
  pool = createPool(postgresUrl, { max: 4 });
  db = createDatabase(pool);
  connection = createRedisConnection(redisUrl, 'producer');
});

afterAll(async () => {
  for (const prefix of prefixes) for (const name of allQueueNames) await obliterate(connection, name, prefix);
  await connection?.quit();
  await pool?.end();
  client?.close();
  await dns?.close();
});

describe('worker resilience', () => {
  it('should redo a check cut off by SIGKILL and store its run once', { timeout: 120_000 }, async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const apex = `kill-${Date.now()}.test`;
    dns.setZone(apex, zone(apex));
    // Hold the DMARC lookup so the check is in flight when the worker dies.
    dns.setFault(`_dmarc.${apex}`, { kind: 'delay', ms: 2_500 });
    const tenant = await createTestTenant(db);
    await createDomainsService({ db, clock: systemClock, resolver: client }).add(tenant.id, apex);

    const env = { ...baseEnv(prefix), ...quick, DNS_SERVERS: dns.address };
    const first = spawnEntry(mainPath, env);
    await first.waitForLog('worker ready');
    const queue = new Queue(queueNames.checksDns, { connection, prefix });
    try {
      await waitFor('the dns check in flight', async () =>
        (await queue.getActiveCount()) > 0 ? true : undefined,
      );
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      // The DNS check was in flight (the other families may have finished before the kill).
      expect((await runsOf(tenant.id)).filter((r) => r.family === 'dns')).toHaveLength(0);

      dns.clearFaults(`_dmarc.${apex}`);
      const second = spawnEntry(mainPath, env);
      await second.waitForLog('worker ready');
      try {
        const runs = await waitFor('the run stored by the second worker', async () => {
          const rows = await runsOf(tenant.id);
          return rows.some((r) => r.family === 'dns') ? rows : undefined;
        });
        // Let any duplicate (the stalled job and a re-tick of the same slot) finish, then count.
        await new Promise((r) => setTimeout(r, 2_000));
        const dnsRuns = (await runsOf(tenant.id)).filter((r) => r.family === 'dns');
        expect(dnsRuns).toHaveLength(1);
        expect(runs.find((r) => r.family === 'dns')!.slot.getTime()).toBe(dnsRuns[0]!.slot.getTime());
        const findings = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.findings));
        const codes = findings.map((f) => f.code);
        expect(codes.filter((c) => c === 'dmarc.policy_none')).toHaveLength(1);
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      await queue.close();
    }
  });

  it('should rebuild due work after Redis lost every queue key', { timeout: 120_000 }, async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const apex = `flush-${Date.now()}.test`;
    dns.setZone(apex, zone(apex));
    const tenant = await createTestTenant(db);
    const domains = createDomainsService({ db, clock: systemClock, resolver: client });
    const added = await domains.add(tenant.id, apex);

    const env = { ...baseEnv(prefix), ...quick, DNS_SERVERS: dns.address };
    const worker = spawnEntry(mainPath, env);
    await worker.waitForLog('worker ready');
    try {
      await waitFor('the first run', async () => ((await runsOf(tenant.id)).length > 0 ? true : undefined));
      // Redis loses every key of this deployment: queues, jobs, the repeatable tick itself. (Only
      // this test's prefix: other test files share the server.)
      const keys = await connection.keys(`${prefix}:*`);
      expect(keys.some((k) => k.startsWith(`${prefix}:scheduler:`))).toBe(true);
      await connection.del(...keys);
      // An e-mail digest endpoint's daily job is in Redis only as a job scheduler: it comes back too.
      const endpointId = crypto.randomUUID();
      await withTenant(db, tenant.id, (tx) =>
        tx.insert(schema.webhookEndpoints).values({
          id: endpointId,
          tenantId: tenant.id,
          format: 'email',
          targetCiphertext: 'sealed',
          displayTarget: 'digest@customer.test',
          events: [],
          dailyDigest: true,
        }),
      );
      const webhooks = new Queue(queueNames.webhooks, { connection, prefix });
      try {
        await waitFor('the digest scheduler after the flush', async () =>
          (await webhooks.getJobSchedulers()).some((j) => j.key === digestSchedulerId(endpointId))
            ? true
            : undefined,
        );
      } finally {
        await webhooks.close();
      }
      // The domain falls due again (as it would after its interval).
      const before = (await runsOf(tenant.id)).filter((r) => r.family === 'dns').length;
      await domains.scanNow(tenant.id, added.id);
      await waitFor(
        'a run after the flush',
        async () =>
          (await runsOf(tenant.id)).filter((r) => r.family === 'dns').length > before ? true : undefined,
        20_000,
      );
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
});
