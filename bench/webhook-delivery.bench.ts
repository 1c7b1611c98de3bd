/**
 * Webhook sending cost: `buildWebhookRequest` + `deliverWebhook` (serialize, sign, SSRF-vet,
 * guarded connect, POST, capped read) against a bare `http.request` POST of the same body, to the
 * same loopback receiver, same concurrency, same run. Both open a fresh connection per request
 * (the sender always sends `connection: close`), so the ratio is the price of the guard and the
 * signing, not of connection reuse. Also prints the p99 latency of the sender at a steady
 * 100 deliveries/s, the load of the end-to-end target (event to receiver p99 < 1 s).
 *
 * The receiver runs in a child process (this file with --serve), so the parent's CPU is spent only
 * on the client being measured.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import {
  buildWebhookRequest,
  createAlertEvent,
  deliverWebhook,
  generateWebhookSecret,
} from '@mailwarden/alerts';
import { uuidv7 } from '@mailwarden/core';
import { parseAllowList } from '@mailwarden/net';
import { createZoneResolver } from '@mailwarden/testing/zone-resolver';
import { printFigure, printRatio } from './lib/report.ts';

const HOST = '127.0.0.47';
const REQUESTS = 3_000;
const CONCURRENCY = 32;
const ROUNDS = 3;
const STEADY_RATE_PER_SECOND = 100;
const STEADY_SECONDS = 5;

async function serve(): Promise<void> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => server.close(() => process.exit(0)));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function drive(count: number, send: () => Promise<boolean>): Promise<{ rps: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        next++;
        if (!(await send())) failed++;
      }
    }),
  );
  return { rps: count / ((performance.now() - started) / 1000), failed };
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((resolve) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const { port } = JSON.parse(first) as { port: number };

  const secret = generateWebhookSecret();
  const resolver = createZoneResolver({ 'receiver.bench.test': { A: [HOST] } });
  const allowList = parseAllowList('127.0.0.0/8');
  if (!allowList.ok) throw new Error('allow-list');
  const url = `http://receiver.bench.test:${port}/hook`;
  const event = createAlertEvent(
    'finding.opened',
    {
      domain: { id: uuidv7(), name: 'example.com' },
      finding: {
        id: uuidv7(),
        code: 'spf.too_many_lookups',
        subject: 'example.com',
        message: 'SPF needs 14 DNS lookups; RFC 7208 allows 10.',
        evidence: { record: `v=spf1 ${'include:_spf.example.net '.repeat(14)}-all`, lookups: 14 },
        firstSeenAt: new Date(),
        lastSeenAt: new Date(),
      },
    },
    new Date(),
  );
  const eventId = uuidv7();

  const ours = async (): Promise<boolean> => {
    const request = buildWebhookRequest({
      event,
      eventId,
      now: new Date(),
      format: 'standard',
      secrets: [secret],
    });
    const attempt = await deliverWebhook({ url, ...request, resolver, allow: allowList.allow });
    return attempt.outcome === 'success';
  };
  const body = buildWebhookRequest({
    event,
    eventId,
    now: new Date(),
    format: 'standard',
    secrets: [secret],
  }).body;
  const bare = (): Promise<boolean> =>
    new Promise((resolve) => {
      const req = http.request(
        {
          host: HOST,
          port,
          method: 'POST',
          path: '/hook',
          agent: false,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            connection: 'close',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 204));
        },
      );
      req.on('error', () => resolve(false));
      req.end(body);
    });

  // Warm-up, then alternate so drift hits both sides equally; best round of each.
  await drive(300, bare);
  await drive(300, ours);
  let bestBare = 0;
  let bestOurs = 0;
  let failures = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const b = await drive(REQUESTS, bare);
    const o = await drive(REQUESTS, ours);
    bestBare = Math.max(bestBare, b.rps);
    bestOurs = Math.max(bestOurs, o.rps);
    failures += b.failed + o.failed;
  }
  printRatio({
    bench: 'webhook-delivery',
    metric: 'deliveries_per_second',
    candidate: bestOurs,
    baseline: bestBare,
    unit: 'req/s',
    better: 'higher',
    target: 0.6,
  });

  // Steady load: one delivery every 10 ms, each timed from "due" to "attempt record back".
  const latencies: number[] = [];
  const total = STEADY_RATE_PER_SECOND * STEADY_SECONDS;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / STEADY_RATE_PER_SECOND;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      ours().then((ok) => {
        if (!ok) failures++;
        latencies.push(performance.now() - due);
      }),
    );
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  printFigure('webhook-delivery', 'p50_ms_at_100_per_second', percentile(latencies, 50), 'ms');
  printFigure('webhook-delivery', 'p99_ms_at_100_per_second', percentile(latencies, 99), 'ms');
  printFigure('webhook-delivery', 'failed_requests', failures, 'requests');

  child.stdin!.end();
  await new Promise((r) => child.once('exit', r));
}

if (process.argv.includes('--serve')) await serve();
else await main();
