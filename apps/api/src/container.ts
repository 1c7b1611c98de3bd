import { type Clock, createLogger, type Logger, systemClock } from '@mailwarden/core';
import { createDatabase, createPool, type Database } from '@mailwarden/db';
import { createRedisConnection } from '@mailwarden/queue';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ApiConfig } from './config.ts';

/**
 * Everything the API's routes use, wired by hand in one place (no IoC container). Tests build
 * their own container against the test database; connections are lazy, so building one for the
 * OpenAPI generator opens no socket.
 */
export interface ApiContainer {
  logger: Logger;
  clock: Clock;
  pool: pg.Pool;
  db: Database;
  redis: Redis;
  close(): Promise<void>;
}

export function createApiContainer(config: ApiConfig, options: { lazy?: boolean } = {}): ApiContainer {
  const logger = createLogger(config.LOG_LEVEL, 'api');
  const pool = createPool(config.DATABASE_URL, { applicationName: 'mailwarden-api' });
  const redis = createRedisConnection(config.REDIS_URL, 'producer', { lazyConnect: options.lazy });
  return {
    logger,
    clock: systemClock,
    pool,
    db: createDatabase(pool),
    redis,
    async close() {
      await Promise.allSettled([pool.end(), redis.status === 'wait' ? redis.disconnect() : redis.quit()]);
    },
  };
}
