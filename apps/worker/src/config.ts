import {
  type ConfigOf,
  type DeploymentMode,
  int,
  loadConfig,
  logLevel,
  str,
  url,
  type VariableSpec,
} from '@mailwarden/core';
import { databaseVariables } from '@mailwarden/db';

/**
 * The worker's whole configuration, read once at start. This is the only file of the worker that
 * reads `process.env`; everything else receives the parsed object.
 */

/** The prefix becomes the first part of every Redis key; `:` would break BullMQ's key layout. */
const queuePrefix: VariableSpec<string> = {
  description: 'Redis key prefix of every queue',
  fallback: 'mw',
  parse(raw) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new Error('must be 1-64 letters, digits, "-" or "_"');
    return raw;
  },
};

const schema = {
  LOG_LEVEL: logLevel(),
  DATABASE_URL: databaseVariables.DATABASE_URL,
  REDIS_URL: {
    ...url('Redis connection URL for BullMQ', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
    secret: true,
  },
  QUEUE_PREFIX: queuePrefix,
  WORKER_HTTP_HOST: str('address of the /healthz, /readyz and /metrics listener', '127.0.0.1'),
  // 0 asks the kernel for a free port (tests); the bound port is logged in the ready line.
  WORKER_HTTP_PORT: int('port of the health and metrics listener', { min: 0, max: 65_535 }, 9464),
  WORKER_SHUTDOWN_TIMEOUT_MS: int(
    'how long in-flight jobs may finish after SIGTERM before they are left to the stalled check',
    { min: 0, max: 600_000 },
    30_000,
  ),
  WORKER_CONCURRENCY: int('jobs processed at once per queue', { min: 1, max: 256 }, 8),
  // A job whose lock is not renewed within this time counts as stalled and is retried elsewhere.
  WORKER_LOCK_DURATION_MS: int('job lock duration', { min: 1_000, max: 600_000 }, 30_000),
  WORKER_STALLED_INTERVAL_MS: int(
    'how often stalled jobs are looked for',
    { min: 100, max: 600_000 },
    30_000,
  ),
};

export type WorkerConfig = ConfigOf<typeof schema> & { mode: DeploymentMode };

/** Every bad or missing variable, the deployment mode included, is reported in one ConfigError. */
export function loadWorkerConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): WorkerConfig {
  return loadConfig(schema, env);
}
