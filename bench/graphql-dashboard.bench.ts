/**
 * Issue 5 benchmark (c): a partner dashboard over 100 domains. GraphQL: one query for the domains
 * with posture, open findings, posture history and recent events (per-request loaders: a constant
 * number of SQL statements whatever N — asserted in apps/api/test/graphql-monitoring.test.ts).
 * REST equivalent: the requests that give the same data — `/v1/domains?limit=100`,
 * `/v1/findings?state=open&limit=200`, then per domain its posture history and its last 5 events
 * (202 requests: REST has no bulk route for those). Also measured, as a figure: the three bulk lists
 * alone (`/v1/domains`, `/v1/findings`, `/v1/events?limit=200`), which carry less. Dashboard loads
 * per second, the API in a child process, API-key auth, autocannon from here, alternating rounds.
 * Target: GraphQL >= 0.7x the REST loads/s.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { uuidv7 } from '@mailwarden/core';
import { createDatabase, createPool, schema, withTenant } from '@mailwarden/db';
import autocannon from 'autocannon';
import { listenApi } from './lib/api-server.ts';
import { benchEnv, createBenchDatabase, seedTenant } from './lib/auth-fixture.ts';
import { median, printFigure, printRatio } from './lib/report.ts';

const DOMAINS = 100;
const FINDINGS_PER_DOMAIN = 3;
const EVENTS_PER_DOMAIN = 5;
const ROUNDS = 3;
const DURATION_S = 5;
const CONNECTIONS = 8;
const self = fileURLToPath(import.meta.url);

const QUERY = `{ domains(first: ${DOMAINS}) { nodes { id name posture { score grade }
  openFindings { code severity subject } postureHistory(since: "2020-01-01T00:00:00Z") { recordedAt score }
  recentEvents(limit: 5) { type occurredAt } } pageInfo { endCursor hasNextPage } } }`;

async function seedDomains(appUrl: string, tenantId: string): Promise<void> {
  const pool = createPool(appUrl, { max: 2 });
  const db = createDatabase(pool);
  const now = Date.now();
  try {
    await withTenant(db, tenantId, async (tx) => {
      for (let i = 0; i < DOMAINS; i++) {
        const domainId = uuidv7(now + i);
        await tx.insert(schema.domains).values({
          id: domainId,
          tenantId,
          name: `dash${i}.bench.test`,
          verificationToken: 'x',
          postureScore: 60 + (i % 40),
          postureGrade: 'B',
        });
        await tx.insert(schema.findings).values(
          Array.from({ length: FINDINGS_PER_DOMAIN }, (_, f) => ({
            id: uuidv7(now + i),
            tenantId,
            domainId,
            family: 'dns' as const,
            check: 'dmarc',
            fingerprint: `fp${i}-${f}`,
            code: f === 0 ? 'dmarc.policy_none' : `mx.code_${f}`,
            severity: 'medium' as const,
            subject: `dash${i}.bench.test`,
            message: 'bench finding',
            evidence: { record: 'v=DMARC1; p=none' },
            state: 'open' as const,
            firstSeenAt: new Date(now),
            openedAt: new Date(now),
            lastSeenAt: new Date(now),
          })),
        );
        await tx.insert(schema.postureHistory).values(
          [0, 1, 2].map((d) => ({
            tenantId,
            domainId,
            recordedAt: new Date(now - d * 86_400_000),
            score: 70,
            grade: 'B',
          })),
        );
        await tx.insert(schema.monitoringEvents).values(
          Array.from({ length: EVENTS_PER_DOMAIN }, () => ({
            id: uuidv7(now + i),
            tenantId,
            domainId,
            type: 'finding.opened' as const,
            severity: 'medium' as const,
            payload: { domain: { id: domainId, name: `dash${i}.bench.test` } },
            occurredAt: new Date(now),
            dispatchedAt: new Date(now),
          })),
        );
      }
    });
  } finally {
    await pool.end();
  }
}

async function startApp(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(self, ['serve-app'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve(Number(m)));
    child.once('exit', (code) => reject(new Error(`api exited with ${code}`)));
  });
  return { child, port };
}

async function loadGraphql(port: number, apiKey: string) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/graphql`,
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY }),
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`graphql errors: ${result.non2xx} non-2xx, ${result.errors}`);
  return { loads: result.requests.average, p99Ms: result.latency.p99 };
}

type RestRequest = { method: 'GET'; path: string; headers: Record<string, string> };

async function loadRest(port: number, requests: RestRequest[]) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    // One dashboard load = these requests, in order, on one connection.
    requests,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`rest errors: ${result.non2xx} non-2xx, ${result.errors}`);
  return { loads: result.requests.average / requests.length, p99Ms: result.latency.p99 };
}

async function restDashboards(port: number, apiKey: string) {
  const headers = { authorization: `Bearer ${apiKey}` };
  const list = await fetch(`http://127.0.0.1:${port}/v1/domains?limit=${DOMAINS}`, { headers });
  const ids = ((await list.json()) as { items: { id: string }[] }).items.map((d) => d.id);
  const bulk: RestRequest[] = [
    { method: 'GET', path: `/v1/domains?limit=${DOMAINS}`, headers },
    { method: 'GET', path: '/v1/findings?state=open&limit=200', headers },
    { method: 'GET', path: '/v1/events?limit=200', headers },
  ];
  const same: RestRequest[] = [
    bulk[0]!,
    bulk[1]!,
    ...ids.map((id) => ({
      method: 'GET' as const,
      path: `/v1/domains/${id}/posture?since=2020-01-01T00:00:00Z`,
      headers,
    })),
    ...ids.map((id) => ({ method: 'GET' as const, path: `/v1/events?domainId=${id}&limit=5`, headers })),
  ];
  return { bulk, same };
}

async function main() {
  const database = await createBenchDatabase();
  let app: { child: ChildProcess; port: number } | undefined;
  try {
    const { tenantId, apiKey } = await seedTenant(database.appUrl, 0);
    await seedDomains(database.appUrl, tenantId);
    app = await startApp({
      BENCH_APP_URL: database.appUrl,
      BENCH_ENCRYPTION_KEY: benchEnv(database.appUrl).ENCRYPTION_KEY!,
    });
    const probe = await fetch(`http://127.0.0.1:${app.port}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: QUERY }),
    });
    const body = (await probe.json()) as { data?: { domains: { nodes: unknown[] } }; errors?: unknown };
    if (!body.data || body.data.domains.nodes.length !== DOMAINS)
      throw new Error(
        `the dashboard query did not return ${DOMAINS} domains: ${JSON.stringify(body.errors)}`,
      );
    const { bulk, same } = await restDashboards(app.port, apiKey);
    await loadGraphql(app.port, apiKey);
    await loadRest(app.port, same);
    const gql: Awaited<ReturnType<typeof loadGraphql>>[] = [];
    const rest: Awaited<ReturnType<typeof loadRest>>[] = [];
    const restBulk: Awaited<ReturnType<typeof loadRest>>[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      rest.push(await loadRest(app.port, same));
      gql.push(await loadGraphql(app.port, apiKey));
      restBulk.push(await loadRest(app.port, bulk));
      console.log(
        `# round ${i}: graphql ${gql[i]!.loads.toFixed(1)} loads/s, rest same data ${rest[i]!.loads.toFixed(1)}, rest 3 bulk lists ${restBulk[i]!.loads.toFixed(1)}`,
      );
    }
    printRatio({
      bench: 'graphql-dashboard',
      metric: 'dashboard_loads_per_second',
      candidate: median(gql.map((r) => r.loads)),
      baseline: median(rest.map((r) => r.loads)),
      unit: 'loads/s',
      better: 'higher',
      target: 0.7,
    });
    printRatio({
      bench: 'graphql-dashboard',
      metric: 'vs_three_bulk_lists_carrying_less',
      candidate: median(gql.map((r) => r.loads)),
      baseline: median(restBulk.map((r) => r.loads)),
      unit: 'loads/s',
      better: 'higher',
    });
    printFigure('graphql-dashboard', 'graphql_p99', median(gql.map((r) => r.p99Ms)), 'ms');
    printFigure('graphql-dashboard', 'rest_request_p99', median(rest.map((r) => r.p99Ms)), 'ms');
  } finally {
    app?.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await database.drop();
  }
}

if (process.argv[2] === 'serve-app') {
  const appUrl = process.env.BENCH_APP_URL!;
  const port = await listenApi({
    ...process.env,
    ...benchEnv(appUrl, { ENCRYPTION_KEY: process.env.BENCH_ENCRYPTION_KEY! }),
    GRAPHQL_MAX_COST: '10000000',
  });
  process.send?.(port);
  process.on('SIGTERM', () => process.exit(0));
} else {
  await main();
}
