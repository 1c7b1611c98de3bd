/**
 * Issue 3 benchmark: an authenticated, tenant-scoped list route through the whole API — API key
 * (`Authorization: Bearer mw_…`), the principal, a permission check, an RLS transaction
 * (BEGIN; set_config('app.tenant_id'); SELECT 101 rows; COMMIT), 100 audit events serialised —
 * against a bare node:http server that runs the same statements with raw pg and answers the same
 * rows as JSON. Both servers are child processes; autocannon drives them from here in alternating
 * rounds. Target: the API serves >= 0.7 of the bare server's requests per second. p99 of both too.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { listenApi } from './lib/api-server.ts';
import { benchEnv, createBenchDatabase, seedTenant } from './lib/auth-fixture.ts';
import { median, printFigure, printRatio } from './lib/report.ts';

const ROUNDS = 3;
const DURATION_S = 5;
const CONNECTIONS = 16;
const ROWS = 100;
const self = fileURLToPath(import.meta.url);

/** The same statements the API's repository runs, on a plain pg pool. */
async function serveBare(appUrl: string, tenantId: string): Promise<number> {
  const pool = new pg.Pool({ connectionString: appUrl, max: 10 });
  const server = createServer(async (req, res) => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
      const { rows } = await client.query(
        'select * from audit_events where tenant_id = $1 order by id desc limit $2',
        [tenantId, ROWS + 1],
      );
      await client.query('commit');
      const items = rows.slice(0, ROWS).map((r) => ({
        id: r.id,
        action: r.action,
        actor: { type: r.actor_type, id: r.actor_id },
        target: r.target_type ? { type: r.target_type, id: r.target_id } : null,
        ip: r.ip,
        userAgent: r.user_agent,
        details: r.details,
        occurredAt: r.occurred_at.toISOString(),
      }));
      const body = JSON.stringify({ items, nextCursor: rows.length > ROWS ? items.at(-1)?.id : null });
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    } catch {
      res.writeHead(500).end();
    } finally {
      client.release();
    }
    void req;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function serveApp(appUrl: string): Promise<number> {
  return listenApi({
    ...process.env,
    ...benchEnv(appUrl, { ENCRYPTION_KEY: process.env.BENCH_ENCRYPTION_KEY! }),
  });
}

async function startChild(
  role: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  // Request logs go to the child's stdout, which is discarded, as a log shipper would consume them.
  const child = fork(self, [role], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve(Number(m)));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
  return { child, port };
}

async function load(port: number, apiKey: string) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/audit-events?limit=${ROWS}`,
    headers: { authorization: `Bearer ${apiKey}` },
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`errors under load: ${result.non2xx} non-2xx, ${result.errors}`);
  return { rps: result.requests.average, p99Ms: result.latency.p99 };
}

async function main() {
  const database = await createBenchDatabase();
  const children: ChildProcess[] = [];
  try {
    const { tenantId, apiKey } = await seedTenant(database.appUrl, ROWS + 50);
    const env = {
      BENCH_APP_URL: database.appUrl,
      BENCH_TENANT_ID: tenantId,
      BENCH_ENCRYPTION_KEY: benchEnv(database.appUrl).ENCRYPTION_KEY!,
    };
    const bare = await startChild('serve-bare', env);
    const app = await startChild('serve-app', env);
    children.push(bare.child, app.child);
    const probe = await fetch(`http://127.0.0.1:${app.port}/v1/audit-events?limit=${ROWS}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    const items = ((await probe.json()) as { items: unknown[] }).items.length;
    if (items !== ROWS) throw new Error(`the app listed ${items} rows, not ${ROWS}`);
    await load(app.port, apiKey); // warm-up: JIT, pools, caches
    await load(bare.port, apiKey);
    const appRuns: Awaited<ReturnType<typeof load>>[] = [];
    const bareRuns: Awaited<ReturnType<typeof load>>[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      bareRuns.push(await load(bare.port, apiKey));
      appRuns.push(await load(app.port, apiKey));
      console.log(
        `# round ${i}: app ${appRuns[i]!.rps.toFixed(0)} req/s, bare ${bareRuns[i]!.rps.toFixed(0)} req/s`,
      );
    }
    printRatio({
      bench: 'auth-list-route',
      metric: 'requests_per_second',
      candidate: median(appRuns.map((r) => r.rps)),
      baseline: median(bareRuns.map((r) => r.rps)),
      unit: 'req/s',
      better: 'higher',
      target: 0.7,
    });
    printFigure('auth-list-route', 'app_p99', median(appRuns.map((r) => r.p99Ms)), 'ms');
    printFigure('auth-list-route', 'bare_p99', median(bareRuns.map((r) => r.p99Ms)), 'ms');
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await database.drop();
  }
}

const role = process.argv[2];
if (role === 'serve-bare' || role === 'serve-app') {
  const appUrl = process.env.BENCH_APP_URL!;
  const port = await (role === 'serve-bare'
    ? serveBare(appUrl, process.env.BENCH_TENANT_ID!)
    : serveApp(appUrl));
  process.send?.(port);
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
} else {
  await main();
}
