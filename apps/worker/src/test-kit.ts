/**
 * Helpers shared by the worker's tests (imported only by *.test.ts). Everything runs against the
 * real Redis and Postgres on 127.0.0.1; each test uses its own queue prefix so files run in parallel.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { RedisConnection } from '@mailwarden/queue';
import { Queue } from 'bullmq';
import { inject } from 'vitest';

export const redisUrl = 'redis://127.0.0.1:6379';
/** The run's test database, as the app role; the worker only runs its readiness `select 1` on it. */
export const postgresUrl = inject('databaseUrl');
export const mainPath = fileURLToPath(new URL('./main.ts', import.meta.url));

export function uniquePrefix(): string {
  return `test-${randomUUID()}`;
}

export function baseEnv(prefix: string): Record<string, string> {
  return {
    MAILWARDEN_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: postgresUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    WORKER_HTTP_PORT: '0',
    // Nothing listens there: a worker test that needs DNS starts its own loopback server.
    DNS_SERVERS: '127.0.0.1:9',
  };
}

/** Polls until the job reaches one of `states`; throws with the last state seen on timeout. */
export async function waitForJobState(
  queue: Queue,
  jobId: string,
  states: readonly string[],
  timeoutMs = 10_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let state = 'unknown';
  while (Date.now() < deadline) {
    state = await queue.getJobState(jobId);
    if (states.includes(state)) return state;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${jobId} stayed ${state}, expected one of ${states.join(', ')}`);
}

/** Removes every key of the queue under this prefix. */
export async function obliterate(
  connection: RedisConnection,
  queueName: string,
  prefix: string,
): Promise<void> {
  const queue = new Queue(queueName, { connection, prefix });
  try {
    await queue.obliterate({ force: true });
    // The check claims (docs/scheduler.md) are keys of their own, which obliterate leaves.
    const claims = await connection.keys(`${prefix}:${queueName}:claim:*`);
    if (claims.length > 0) await connection.del(...claims);
  } finally {
    await queue.close();
  }
}

export interface LogRecord {
  msg?: string;
  level?: string;
  [key: string]: unknown;
}

export interface SpawnedProcess {
  child: ChildProcess;
  logs: LogRecord[];
  stderr: () => string;
  /** Resolves with the first log record whose `msg` equals `msg`. */
  waitForLog: (msg: string, timeoutMs?: number) => Promise<LogRecord>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a TypeScript entry point with the same Node binary (24, type stripping) and only `env`. */
export function spawnEntry(entry: string, env: Record<string, string>, args: string[] = []): SpawnedProcess {
  const child = spawn(process.execPath, [entry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogRecord[] = [];
  const waiters: { msg: string; resolve: (r: LogRecord) => void }[] = [];
  let stderr = '';
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const record = JSON.parse(line) as LogRecord;
      logs.push(record);
      for (const w of waiters.filter((w) => w.msg === record.msg)) w.resolve(record);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog(msg, timeoutMs = 10_000) {
      const seen = logs.find((r) => r.msg === msg);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${msg}" log within ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          msg,
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`process exited before "${msg}"; stderr: ${stderr}`));
        });
      });
    },
  };
}
