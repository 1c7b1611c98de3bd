import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@mailwarden/core';
import type { Registry } from 'prom-client';

/**
 * The worker's only HTTP surface: liveness, readiness and Prometheus metrics. It binds to loopback
 * by default; it carries no tenant data, but readiness answers name dependencies, never their
 * addresses or credentials.
 */

export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
}

export interface HealthServerOptions {
  registry: Registry;
  readinessChecks: readonly ReadinessCheck[];
  /** Each dependency must answer within this time to count as up. */
  readinessTimeoutMs?: number;
  log: Logger;
}

type CheckState = 'ok' | 'failed' | 'timeout';

async function probe(check: ReadinessCheck, timeoutMs: number, log: Logger): Promise<CheckState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckState>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const attempt = check.check().then(
    (): CheckState => 'ok',
    (err: unknown): CheckState => {
      // Logged for operators; the HTTP answer only says which dependency failed.
      log.warn({ err, dependency: check.name }, 'readiness check failed');
      return 'failed';
    },
  );
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function createHealthServer(options: HealthServerOptions) {
  const timeoutMs = options.readinessTimeoutMs ?? 2_000;
  const { log } = options;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://worker.invalid').pathname;
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') {
      const states = await Promise.all(options.readinessChecks.map((c) => probe(c, timeoutMs, log)));
      const checks = Object.fromEntries(options.readinessChecks.map((c, i) => [c.name, states[i]]));
      const ready = states.every((s) => s === 'ok');
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable', checks });
    }
    if (req.method === 'GET' && path === '/metrics') {
      const text = await options.registry.metrics();
      res.writeHead(200, { 'content-type': options.registry.contentType, 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    sendJson(res, 404, { status: 'not_found' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'health server request failed');
      if (!res.headersSent) sendJson(res, 500, { status: 'error' });
      else res.destroy();
    });
  });
  // Scrapers and probes send tiny requests; anything slow is broken or hostile.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  return {
    listen(host: string, port: number): Promise<AddressInfo> {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close(): Promise<void> {
      if (!server.listening) return Promise.resolve();
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Prometheus keeps connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
      });
    },
  };
}

export type HealthServer = ReturnType<typeof createHealthServer>;
