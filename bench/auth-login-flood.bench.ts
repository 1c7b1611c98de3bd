/**
 * Issue 3 benchmark: does a login flood hurt everyone else? The p99 latency of a plain
 * authenticated GET (`GET /v1/tenant` with an API key) is measured alone, then while a flood of
 * sign-in attempts runs against the same API process — each with a fresh address and a fresh
 * X-Forwarded-For, so neither per-account nor per-IP limits stop it and every attempt costs a full
 * argon2id hash. Hashing is bounded (PASSWORD_HASH_CONCURRENCY, default cores − 1, and a wait queue
 * beyond which sign-in answers 503), which is what keeps the event loop free.
 * Target: p99 under the flood <= 3x the p99 without it, measured in this run.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { listenApi } from './lib/api-server.ts';
import { benchEnv, createBenchDatabase, seedTenant } from './lib/auth-fixture.ts';
import { median, printFigure, printRatio } from './lib/report.ts';

const ROUNDS = 3;
const DURATION_S = 8;
const GET_CONNECTIONS = 8;
const FLOOD_CONNECTIONS = 64;
const self = fileURLToPath(import.meta.url);

function serveApp(): Promise<number> {
  // Behind a proxy, as in production: the flood's X-Forwarded-For is what the limits see.
  return listenApi({
    ...process.env,
    ...benchEnv(process.env.BENCH_APP_URL!, {
      ENCRYPTION_KEY: process.env.BENCH_ENCRYPTION_KEY!,
      TRUST_PROXY: 'true',
    }),
  });
}

function randomIp(): string {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

function flood(port: number) {
  return autocannon({
    url: `http://127.0.0.1:${port}/v1/auth/login`,
    connections: FLOOD_CONNECTIONS,
    duration: DURATION_S + 2,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => ({
          ...req,
          headers: { 'content-type': 'application/json', 'x-forwarded-for': randomIp() },
          body: JSON.stringify({
            email: `x${randomBytes(6).toString('hex')}@flood.example`,
            password: randomBytes(12).toString('base64'),
          }),
        }),
      },
    ],
  });
}

async function plainGets(port: number, apiKey: string) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/tenant`,
    headers: { authorization: `Bearer ${apiKey}` },
    connections: GET_CONNECTIONS,
    duration: DURATION_S,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`GET errors: ${result.non2xx} non-2xx, ${result.errors}`);
  return { p99Ms: result.latency.p99, rps: result.requests.average };
}

async function main() {
  const database = await createBenchDatabase();
  let child: ChildProcess | undefined;
  try {
    const { tenantId, apiKey } = await seedTenant(database.appUrl, 1);
    child = fork(self, ['serve-app'], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        BENCH_APP_URL: database.appUrl,
        BENCH_TENANT_ID: tenantId,
        BENCH_ENCRYPTION_KEY: benchEnv(database.appUrl).ENCRYPTION_KEY!,
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      child!.once('message', (m) => resolve(Number(m)));
      child!.once('exit', (code) => reject(new Error(`app exited with ${code}`)));
    });
    await plainGets(port, apiKey); // warm-up
    const quiet: number[] = [];
    const loud: number[] = [];
    const outcomes: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const alone = await plainGets(port, apiKey);
      const flooding = flood(port);
      await new Promise((r) => setTimeout(r, 1000)); // let the flood fill the hash queue first
      const underFlood = await plainGets(port, apiKey);
      const floodResult = await flooding;
      for (const [status, count] of Object.entries(floodResult.statusCodeStats ?? {}))
        outcomes[status] = (outcomes[status] ?? 0) + (count.count ?? 0);
      quiet.push(alone.p99Ms);
      loud.push(underFlood.p99Ms);
      console.log(
        `# round ${round}: GET p99 alone ${alone.p99Ms} ms (${alone.rps.toFixed(0)} req/s), under flood ${underFlood.p99Ms} ms (${underFlood.rps.toFixed(0)} req/s); flood ${floodResult.requests.average.toFixed(0)} req/s`,
      );
    }
    console.log(
      `# flood answers by status: ${JSON.stringify(outcomes)} (401: hashed and refused, 503: hash queue full, 429: limited)`,
    );
    printRatio({
      bench: 'auth-login-flood',
      metric: 'get_p99_under_flood',
      candidate: median(loud),
      baseline: median(quiet),
      unit: 'ms',
      better: 'lower',
      target: 3,
    });
    printFigure('auth-login-flood', 'get_p99_alone', median(quiet), 'ms');
    printFigure('auth-login-flood', 'get_p99_under_flood', median(loud), 'ms');
  } finally {
    child?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await database.drop();
  }
}

if (process.argv[2] === 'serve-app') {
  process.send?.(await serveApp());
  process.on('SIGTERM', () => process.exit(0));
} else {
  await main();
}
