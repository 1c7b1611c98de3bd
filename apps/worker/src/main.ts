import { ConfigError, createLogger } from '@mailwarden/core';
import { createPool } from '@mailwarden/db';
import { createRedisConnection } from '@mailwarden/queue';
import { loadWorkerConfig, type WorkerConfig } from './config.ts';
import { buildWorker } from './worker.ts';

/**
 * Process entry of the worker. SIGTERM/SIGINT: stop taking jobs, let jobs in flight finish within
 * WORKER_SHUTDOWN_TIMEOUT_MS, then close everything and exit 0. Jobs cut off by the timeout stay
 * in Redis and are retried by the next worker. A second signal exits at once.
 */

/** sysexits.h EX_CONFIG: a supervisor can tell "fix the configuration" from a crash. */
const exitConfigError = 78;
/** Extra time past the shutdown timeout for closing connections before we give up on them. */
const closeGraceMs = 10_000;

function loadConfig(): WorkerConfig | undefined {
  try {
    return loadWorkerConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exitCode = exitConfigError;
    return undefined;
  }
}

async function run(config: WorkerConfig): Promise<void> {
  const logger = createLogger(config.LOG_LEVEL, 'worker');
  const pool = createPool(config.DATABASE_URL, {
    max: config.WORKER_CONCURRENCY + 1,
    applicationName: 'mailwarden-worker',
  });
  const worker = buildWorker(config, {
    logger,
    pool,
    createConnection: (role) =>
      createRedisConnection(config.REDIS_URL, role, {
        connectionName: `mailwarden-worker-${role}`,
        onError: (err) => logger.warn({ err, role }, 'redis connection error'),
      }),
  });

  let shuttingDown = false;
  async function shutdown(signal: NodeJS.Signals): Promise<void> {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal; exiting without waiting for jobs');
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal }, 'shutdown requested');
    // Backstop: a hung close (half-open socket) must not keep a terminating process alive forever.
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.WORKER_SHUTDOWN_TIMEOUT_MS + closeGraceMs).unref();
    try {
      await worker.stop();
      await pool.end();
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    // Explicit exit: a job cut off by the timeout still has its timers pending in this process.
    process.exit(0);
  }
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));

  try {
    await worker.start();
  } catch (err) {
    logger.fatal({ err }, 'worker failed to start');
    await worker.stop(0).catch(() => {});
    await pool.end().catch(() => {});
    process.exit(1);
  }
}

const config = loadConfig();
if (config) await run(config);
