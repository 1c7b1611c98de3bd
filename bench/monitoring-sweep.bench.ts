/**
 * Issue 5 benchmarks (a) and (b).
 *
 * (a) Sweep. DOMAINS generated domains (MX + A, SPF, DMARC; spread over TENANTS tenants) are served
 *     by the loopback DNS server. Baseline: the raw scan rate of the same engine — the worker's DNS
 *     family runner called directly, CONCURRENCY at once, with a fresh DNS client. Candidate: the
 *     product path — domains in Postgres, the scheduler tick (every second) reading them through
 *     `mailwarden_due_checks`, BullMQ jobs in Redis, the worker running the same runner and storing
 *     each run (run row, findings diff, check states, posture history, schedule, outbox events) in
 *     one transaction per tenant (batched across the worker's concurrent checks). Rate = domains /
 *     seconds from the first check's start to the last job's runs counted (the wait for the next
 *     tick, 0-1 s, is latency and printed apart). The worker is warmed first on WARMUP_DOMAINS other
 *     domains of another tenant (its first runs compile the pipeline's code, as the baseline's
 *     warm-up does the engine's); each sweep then starts by making its domains due, so the first
 *     and the steady sweep differ only in what they write. Target >= 0.6x.
 *     ROUNDS rounds (BENCH_SWEEP_ROUNDS, default 3), each on DOMAINS domains of its own (so each
 *     has a first sweep): the baseline is measured before the first round, between rounds and after
 *     the last, and each round is compared with the mean of the two around it (load that comes and
 *     goes on a shared machine moves single runs by ±10 %). The ratios printed are the median
 *     round's; every round is printed too. Each phase prints the CPU it cost per domain, this
 *     process's and Postgres's (bench/lib/cpu.ts): the pipeline's overhead, apart from the clock.
 *
 *     The worker runs SWEEP_JOBS checks at once (BENCH_SWEEP_JOBS, default 64, the worker's
 *     default CHECKS_DNS_CONCURRENCY), in batch jobs of 25 names (docs/scheduler.md). Postgres is
 *     given statistics after the seeding, again after the worker's warm-up, and a vacuum between
 *     the sweeps, outside the timed parts, as autovacuum would in a deployment: the test server
 *     runs with autovacuum off. Without statistics the planner turns the due query quadratic (2 s
 *     for 10 000 domains instead of 80 ms); with those of the seeding alone, taken while runs,
 *     findings and events were empty, the first round's first sweep ran at 0.56x where the later
 *     rounds' ran at 0.65x and 0.67x (one run). Progress is the worker's own
 *     `mailwarden_check_runs_total`, read in this process: a count in Postgres every 50 ms cost
 *     the server more the further the sweep went, beside the pipeline it measured. The end is when
 *     the last job has stored its runs and announced its events (its claims are released after).
 *
 * (b) Webhook latency. One endpoint on a local HTTP receiver; events are committed to the outbox at
 *     EVENTS_PER_SECOND and handed to the worker as the product does (dispatch job after commit).
 *     Figure: p50/p99 from commit to the signed request arriving. Target p99 < 1 s. Printed as a
 *     ratio against the 1 s budget.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhooksService } from '@mailwarden/alerts';
import { createLogger, createSecretBox, systemClock, uuidv7 } from '@mailwarden/core';
import { createDatabase, createPool, schema, withTenant } from '@mailwarden/db';
import { createDnsFamilyRunner } from '@mailwarden/monitoring';
import { createDnsClient, parseAllowList } from '@mailwarden/net';
import { allQueueNames, createRedisConnection, queueNames } from '@mailwarden/queue';
import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { loadWorkerConfig } from '../apps/worker/src/config.ts';
import { buildWorker } from '../apps/worker/src/worker.ts';
import type { Zones } from '../libs/testing/src/dns-server/fixtures.ts';
import { startDnsServer } from '../libs/testing/src/dns-server/index.ts';
import { createBenchDatabase } from './lib/auth-fixture.ts';
import { cpuMark, cpuPerUnit } from './lib/cpu.ts';
import { median, printFigure, printRatio } from './lib/report.ts';

const DOMAINS = Number(process.env.BENCH_SWEEP_DOMAINS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_SWEEP_ROUNDS ?? 3);
const TENANTS = 10;
const CONCURRENCY = 64;
const SWEEP_JOBS = Number(process.env.BENCH_SWEEP_JOBS ?? 64);
const WARMUP_DOMAINS = 2_000;
const EVENTS_PER_SECOND = 100;
const EVENT_SECONDS = 10;
const ENCRYPTION_KEY = Buffer.alloc(32, 5).toString('base64');
const REDIS_URL = 'redis://127.0.0.1:6379';

/** Round r sweeps d<i>r<r>.sweep.test; the worker warms up on w<i>.sweep.test. */
function zones(labels: readonly string[]): Zones {
  const records: Record<string, Record<string, unknown>> = {};
  for (const [i, d] of labels.entries()) {
    records[d] = {
      MX: [{ preference: 10, exchange: `mx.${d}.sweep.test` }],
      TXT: ['v=spf1 ip4:192.0.2.0/24 -all'],
    };
    records[`mx.${d}`] = { A: [`192.0.2.${(i % 250) + 1}`] };
    records[`_dmarc.${d}`] = { TXT: [`v=DMARC1; p=reject; rua=mailto:d@${d}.sweep.test`] };
  }
  return {
    'sweep.test': { records: records as never },
    test: {},
    '2.0.192.in-addr.arpa': {},
  };
}

const roundLabels = Array.from({ length: ROUNDS }, (_, r) =>
  Array.from({ length: DOMAINS }, (_, i) => `d${i}r${r}`),
);
const warmLabels = Array.from({ length: WARMUP_DOMAINS }, (_, i) => `w${i}`);
const roundNames = roundLabels.map((labels) => labels.map((l) => `${l}.sweep.test`));
const warmNames = warmLabels.map((l) => `${l}.sweep.test`);
/** The baseline scans the first round's names (a fresh client each time: nothing is cached). */
const names = roundNames[0]!;

async function rawScanRate(
  dnsAddress: { host: string; port: number },
  count = names.length,
): Promise<number> {
  const client = createDnsClient({ servers: [dnsAddress], timeoutMs: 2_000 });
  const allow = (parseAllowList('127.0.0.0/8') as { ok: true; allow: never }).allow;
  const runner = createDnsFamilyRunner({ resolver: client, allow });
  const options = { dkimSelectors: [], sendingIps: [], probeOptions: {} };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const name = names[next++]!;
        await runner.run(name, options);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  client.close();
  return count / seconds;
}

async function main() {
  const dns = await startDnsServer({
    host: '127.79.0.53',
    zones: zones([...roundLabels.flat(), ...warmLabels]),
    logQueries: false,
  });
  const bench = await createBenchDatabase();
  const pool = createPool(bench.appUrl, { max: 20 });
  // The owner: statistics and vacuum (it owns the tables) and the progress count (through the
  // scheduler role's read policy it sees every tenant's runs).
  const ownerUrl = new URL(bench.appUrl);
  ownerUrl.username = 'mailwarden_bench_owner';
  const owner = createPool(ownerUrl.toString(), { max: 1 });
  const db = createDatabase(pool);
  const prefix = `bench-sweep-${process.pid}`;
  const redis = createRedisConnection(REDIS_URL, 'producer');
  try {
    // Warm the JIT and the server on a slice. The baseline is measured between the rounds.
    await rawScanRate({ host: dns.host, port: dns.port }, WARMUP_DOMAINS);

    // Domains in Postgres, as POST /v1/domains leaves them. The rounds' are due in a day (each
    // sweep makes its round's domains due when it starts); the warm-up tenant's are due now.
    async function seedTenant(tenantId: string, label: string, slice: string[], nextRunAt: Date) {
      await withTenant(db, tenantId, async (tx) => {
        await tx.insert(schema.tenants).values({ id: tenantId, name: label });
        for (let i = 0; i < slice.length; i += 1000) {
          const rows = slice
            .slice(i, i + 1000)
            .map((name) => ({ id: uuidv7(), tenantId, name, verificationToken: 'x' }));
          await tx.insert(schema.domains).values(rows);
          await tx.insert(schema.domainSchedules).values(
            rows.map((r) => ({
              tenantId,
              domainId: r.id,
              family: 'dns' as const,
              intervalSeconds: 3600,
              nextRunAt,
            })),
          );
        }
      });
    }
    // Each round's domains spread over TENANTS tenants of its own.
    const roundTenants: string[][] = [];
    const later = new Date(Date.now() + 86_400_000);
    for (const [r, roundDomains] of roundNames.entries()) {
      const tenantIds: string[] = [];
      for (let t = 0; t < TENANTS; t++) {
        const tenantId = uuidv7();
        tenantIds.push(tenantId);
        await seedTenant(
          tenantId,
          `bench ${r}.${t}`,
          roundDomains.filter((_, i) => i % TENANTS === t),
          later,
        );
      }
      roundTenants.push(tenantIds);
    }
    await seedTenant(uuidv7(), 'bench warm-up', warmNames, new Date());

    // Statistics of the seeded tables, as autovacuum would have them.
    const tables =
      'domains, domain_schedules, check_runs, findings, check_states, posture_history, monitoring_events';
    await owner.query(`analyze ${tables}`);

    const config = loadWorkerConfig({
      MAILWARDEN_ENV: 'development',
      LOG_LEVEL: 'silent',
      DATABASE_URL: bench.appUrl,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      WORKER_HTTP_PORT: '0',
      DNS_SERVERS: dns.address,
      DNS_TIMEOUT_MS: '2000',
      PROBE_ALLOW_CIDRS: '127.0.0.0/8',
      SCHEDULER_TICK_MS: '1000',
      CHECKS_DNS_CONCURRENCY: String(SWEEP_JOBS),
      ENCRYPTION_KEY,
    });
    const worker = buildWorker(config, {
      logger: createLogger('silent', 'bench'),
      pool,
      createConnection: (role) => createRedisConnection(REDIS_URL, role),
    });
    /** Runs the worker has stored so far (its own counter: no query beside the pipeline). */
    async function runsStored(): Promise<number> {
      const metric = worker.metrics.getSingleMetric('mailwarden_check_runs_total');
      if (!metric) throw new Error('the worker has no mailwarden_check_runs_total');
      const { values } = await metric.get();
      return values.reduce((n, v) => n + (v.labels.result === 'stored' ? v.value : 0), 0);
    }
    // Run ids are UUIDv7 of the run's time: the first check's start is read from this sweep's rows.
    function runIdFloor(sinceMs: number): string {
      const hex = Math.floor(sinceMs).toString(16).padStart(12, '0');
      return `${hex.slice(0, 8)}-${hex.slice(8)}-0000-0000-000000000000`;
    }
    /**
     * Makes a round's domains due and waits for their runs. The rate runs from the first check's
     * start (the earliest `started_at`, the worker's clock, this process's) to the last runs counted:
     * the time until the next tick, 0-1 s after the domains fell due, is the scheduler's latency,
     * not its throughput, and is printed on its own.
     */
    async function sweep(tenantIds: readonly string[]): Promise<{ rate: number; tickWaitMs: number }> {
      const sinceMs = Date.now();
      const before = await runsStored();
      for (const tenantId of tenantIds) {
        await withTenant(db, tenantId, (tx) =>
          tx.execute(sql`update domain_schedules set next_run_at = now()`),
        );
      }
      const dueMs = Date.now();
      while ((await runsStored()) - before < DOMAINS) await new Promise((r) => setTimeout(r, 5));
      const endMs = Date.now();
      const { rows } = await owner.query<{ first: Date }>(
        'select min(started_at) as first from check_runs where id >= $1::uuid',
        [runIdFloor(sinceMs)],
      );
      const firstMs = rows[0]!.first.getTime();
      return { rate: DOMAINS / ((endMs - firstMs) / 1000), tickWaitMs: firstMs - dueMs };
    }
    // The worker's warm-up: its first runs compile the pipeline's code (tick, queue, recording),
    // as the baseline's warm-up does the engine's; a worker runs for days, not for one sweep.
    await worker.start();
    while ((await runsStored()) < WARMUP_DOMAINS) await new Promise((r) => setTimeout(r, 100));
    // Statistics again, with the warm-up's runs, findings and events in the tables, as autovacuum
    // would have them by now (the first sweep's plans were otherwise made for empty tables).
    await owner.query(`analyze ${tables}`);

    interface Round {
      first: number;
      steady: number;
      baseline: number;
    }
    const rounds: Round[] = [];
    let mark = cpuMark();
    let rawBefore = await rawScanRate({ host: dns.host, port: dns.port });
    const rawCpu = cpuPerUnit(mark, DOMAINS);
    const cpuOf = {
      first: [] as number[],
      firstPg: [] as number[],
      steady: [] as number[],
      steadyPg: [] as number[],
    };
    for (const [r, tenantIds] of roundTenants.entries()) {
      // First sweep: every finding, check state and event is new (the heaviest writes).
      mark = cpuMark();
      const first = await sweep(tenantIds);
      const firstCpu = cpuPerUnit(mark, DOMAINS);
      // Steady state: every domain falls due again; findings are seen again, little changes.
      await owner.query(`vacuum analyze ${tables}`);
      mark = cpuMark();
      const steady = await sweep(tenantIds);
      const steadyCpu = cpuPerUnit(mark, DOMAINS);
      // The baseline around the round: load that comes and goes weighs on both sides alike.
      const rawAfter = await rawScanRate({ host: dns.host, port: dns.port });
      const baseline = (rawBefore + rawAfter) / 2;
      rawBefore = rawAfter;
      rounds.push({ first: first.rate, steady: steady.rate, baseline });
      cpuOf.first.push(firstCpu.selfMs);
      cpuOf.steady.push(steadyCpu.selfMs);
      if (firstCpu.postgresMs !== undefined) cpuOf.firstPg.push(firstCpu.postgresMs);
      if (steadyCpu.postgresMs !== undefined) cpuOf.steadyPg.push(steadyCpu.postgresMs);
      const tag = `round_${r + 1}`;
      printFigure('monitoring-sweep', `${tag}_raw_scan_rate`, baseline, 'domains/s');
      printFigure(
        'monitoring-sweep',
        `${tag}_first_sweep_rate`,
        first.rate,
        `domains/s (${(first.rate / baseline).toFixed(3)}x)`,
      );
      printFigure(
        'monitoring-sweep',
        `${tag}_steady_sweep_rate`,
        steady.rate,
        `domains/s (${(steady.rate / baseline).toFixed(3)}x)`,
      );
      printFigure(
        'monitoring-sweep',
        `${tag}_wait_for_tick_ms`,
        Math.max(first.tickWaitMs, steady.tickWaitMs),
        'ms (the longer of the two sweeps)',
      );
    }
    // Where the time goes, per domain (medians over the rounds): this process (the worker and the
    // DNS server) and Postgres.
    printFigure('monitoring-sweep', 'raw_scan_process_cpu_per_domain', rawCpu.selfMs, 'ms');
    for (const [label, values] of [
      ['first_sweep_process_cpu_per_domain', cpuOf.first],
      ['first_sweep_postgres_cpu_per_domain', cpuOf.firstPg],
      ['steady_sweep_process_cpu_per_domain', cpuOf.steady],
      ['steady_sweep_postgres_cpu_per_domain', cpuOf.steadyPg],
    ] as const) {
      if (values.length > 0)
        printFigure('monitoring-sweep', label, median(values), 'ms (median of the rounds)');
    }
    const medianRound = (of: (round: Round) => number) =>
      [...rounds].sort((a, b) => of(a) / a.baseline - of(b) / b.baseline)[Math.floor(rounds.length / 2)]!;
    for (const [metric, of] of [
      ['first_sweep_vs_raw_scan', (round: Round) => round.first],
      ['steady_sweep_vs_raw_scan', (round: Round) => round.steady],
    ] as const) {
      const round = medianRound(of);
      printRatio({
        bench: 'monitoring-sweep',
        metric,
        candidate: of(round),
        baseline: round.baseline,
        unit: `domains/s (median of ${rounds.length} rounds)`,
        better: 'higher',
        target: 0.6,
      });
    }

    // (b) Event committed -> signed webhook received. The worker stays up, idle otherwise: the
    // rounds' domains are next due in an hour.
    const arrivals = new Map<string, number>();
    const receiver = createServer((req, res) => {
      const id = String(req.headers['webhook-id']);
      req.resume();
      req.on('end', () => {
        arrivals.set(id, performance.now());
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.79.0.80', resolve));
    const port = (receiver.address() as AddressInfo).port;
    const tenantId = roundTenants[0]![0]!;
    const webhooks = createWebhooksService({
      db,
      clock: systemClock,
      box: createSecretBox(Buffer.from(ENCRYPTION_KEY, 'base64')),
      runtime: {
        resolver: createDnsClient({ servers: [{ host: dns.host, port: dns.port }] }),
        allow: config.PROBE_ALLOW_CIDRS,
      },
    });
    await webhooks.create(tenantId, {
      format: 'standard',
      target: `http://127.79.0.80:${port}/hook`,
      events: ['webhook.test'],
    });
    const committed = new Map<string, number>();
    const total = EVENTS_PER_SECOND * EVENT_SECONDS;
    const sendStart = performance.now();
    for (let i = 0; i < total; i++) {
      const due = sendStart + (i * 1000) / EVENTS_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const eventId = uuidv7();
      await withTenant(db, tenantId, (tx) =>
        tx.insert(schema.monitoringEvents).values({
          id: eventId,
          tenantId,
          type: 'webhook.test',
          severity: 'info',
          payload: {
            endpoint: { id: eventId, displayTarget: 'bench', format: 'standard' },
            message: `event ${i}`,
          },
          occurredAt: new Date(),
        }),
      );
      committed.set(eventId, performance.now());
      void worker.producer.enqueue(
        queueNames.webhooks,
        'dispatch-event',
        { tenantId, eventId },
        { jobId: `evt.${eventId}` },
      );
    }
    const deadline = performance.now() + 30_000;
    while (arrivals.size < total && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const { encodeId } = await import('@mailwarden/core');
    const latencies = [...committed]
      .map(([id, at]) => (arrivals.get(encodeId('evt', id)) ?? Number.POSITIVE_INFINITY) - at)
      .sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    printFigure('monitoring-sweep', 'webhook_p50_ms', p(0.5), 'ms');
    printFigure('monitoring-sweep', 'webhook_p99_ms', p(0.99), 'ms');
    printFigure('monitoring-sweep', 'webhooks_received', arrivals.size, `of ${total}`);
    printRatio({
      bench: 'monitoring-sweep',
      metric: 'webhook_p99_vs_1s_budget',
      candidate: p(0.99),
      baseline: 1000,
      unit: 'ms',
      better: 'lower',
      target: 1,
    });
    receiver.close();
    await worker.stop();
  } finally {
    for (const name of allQueueNames)
      await new Queue(name, { connection: redis, prefix }).obliterate({ force: true }).catch(() => {});
    await redis.quit();
    await owner.end();
    await pool.end();
    await bench.drop();
    await dns.close();
  }
}

await main();
process.exit(0);
