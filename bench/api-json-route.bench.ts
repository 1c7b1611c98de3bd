/**
 * Issue 2 benchmark: a small JSON route through the whole API (every plugin on: helmet, CORS,
 * request ids, rate limit in Redis, metrics, problem details, info-level request logs) against a
 * bare node:http server answering the same bytes. Both servers run in child processes of their own;
 * autocannon drives them from this process, alternating rounds so drift hits both alike.
 * Target: the app serves >= 0.85 of node:http's requests per second.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { listenApi } from './lib/api-server.ts';
import { median, printFigure, printRatio } from './lib/report.ts';

const ROUNDS = 3;
const DURATION_S = 5;
const CONNECTIONS = 32;
const self = fileURLToPath(import.meta.url);

async function serveBare(): Promise<number> {
  const body = JSON.stringify({ service: 'mailwarden', version: '0.1.0', apiVersion: 'v1' });
  const server = createServer((req, res) => {
    if (req.url === '/v1/meta') {
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function serveApp(): Promise<number> {
  return listenApi({
    ...process.env,
    MAILWARDEN_ENV: 'development',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    REDIS_KEY_PREFIX: `bench-${process.pid}`,
    // The limit exists and is counted in Redis on every request, but is never reached.
    RATE_LIMIT_PER_MINUTE: '1000000',
  });
}

interface Server {
  child: ChildProcess;
  port: number;
  /** The server process's CPU time so far, microseconds (user + system). */
  cpuMicros(): Promise<number>;
}

async function startChild(role: string): Promise<Server> {
  // Request logs go to the child's stdout, which is discarded, as a log shipper would consume them.
  const child = fork(self, [role], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve(Number(m)));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
  const cpuMicros = () =>
    new Promise<number>((resolve) => {
      child.once('message', (m) => resolve(Number(m)));
      child.send('cpu');
    });
  return { child, port, cpuMicros };
}

/**
 * One load round. Besides requests/s (which on a shared 2-core machine moves with whatever else
 * runs), it reads the server's own CPU time per request: a cost that other load barely changes.
 */
async function load(server: Server) {
  const cpuBefore = await server.cpuMicros();
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}/v1/meta`,
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  const cpuAfter = await server.cpuMicros();
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`errors under load: ${result.non2xx} non-2xx, ${result.errors}`);
  return {
    rps: result.requests.average,
    p99Ms: result.latency.p99,
    cpuMicrosPerRequest: (cpuAfter - cpuBefore) / result.requests.total,
  };
}

async function main() {
  const bare = await startChild('serve-bare');
  const app = await startChild('serve-app');
  try {
    await load(app); // warm-up: JIT, connection pools
    await load(bare);
    const bareRuns: Awaited<ReturnType<typeof load>>[] = [];
    const appRuns: Awaited<ReturnType<typeof load>>[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      bareRuns.push(await load(bare));
      appRuns.push(await load(app));
    }
    const appRps = median(appRuns.map((r) => r.rps));
    const bareRps = median(bareRuns.map((r) => r.rps));
    printRatio({
      bench: 'api-json-route',
      metric: 'requests_per_second',
      candidate: appRps,
      baseline: bareRps,
      unit: 'req/s',
      better: 'higher',
      target: 0.85,
    });
    // The same comparison in CPU cost: how much of node:http's efficiency the whole app keeps.
    printRatio({
      bench: 'api-json-route',
      metric: 'cpu_efficiency',
      candidate: median(bareRuns.map((r) => r.cpuMicrosPerRequest)),
      baseline: median(appRuns.map((r) => r.cpuMicrosPerRequest)),
      unit: '(bare µs / app µs of server CPU per request)',
      better: 'higher',
    });
    printFigure(
      'api-json-route',
      'app_cpu_per_request',
      median(appRuns.map((r) => r.cpuMicrosPerRequest)),
      'µs',
    );
    printFigure(
      'api-json-route',
      'bare_cpu_per_request',
      median(bareRuns.map((r) => r.cpuMicrosPerRequest)),
      'µs',
    );
    printFigure('api-json-route', 'app_p99', median(appRuns.map((r) => r.p99Ms)), 'ms');
    printFigure('api-json-route', 'bare_p99', median(bareRuns.map((r) => r.p99Ms)), 'ms');
  } finally {
    bare.child.kill('SIGTERM');
    app.child.kill('SIGTERM');
  }
}

const role = process.argv[2];
if (role === 'serve-bare' || role === 'serve-app') {
  const port = await (role === 'serve-bare' ? serveBare() : serveApp());
  process.send?.(port);
  process.on('message', (m) => {
    if (m === 'cpu') {
      const usage = process.cpuUsage();
      process.send?.(usage.user + usage.system);
    }
  });
  process.on('SIGTERM', () => process.exit(0));
} else {
  await main();
}
