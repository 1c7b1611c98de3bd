import {
  type AuthServices,
  createAuthServices,
  createRecordingMailer,
  type RecordingMailer,
} from '@mailwarden/auth';
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
  /** Outgoing mail; the recording mailer until an SMTP transport is configured (see README). */
  mailer: RecordingMailer;
  auth: AuthServices;
  close(): Promise<void>;
}

export function createApiContainer(config: ApiConfig, options: { lazy?: boolean } = {}): ApiContainer {
  const logger = createLogger(config.LOG_LEVEL, 'api');
  const pool = createPool(config.DATABASE_URL, { applicationName: 'mailwarden-api' });
  const redis = createRedisConnection(config.REDIS_URL, 'producer', {
    lazyConnect: options.lazy,
    autoPipelining: true,
  });
  const db = createDatabase(pool);
  const mailer = createRecordingMailer();
  const auth = createAuthServices({
    db,
    redis,
    clock: systemClock,
    logger,
    mailer,
    settings: {
      issuer: config.JWT_ISSUER || config.PUBLIC_BASE_URL,
      audience: config.JWT_AUDIENCE,
      accessTtlSeconds: config.JWT_ACCESS_TTL_SECONDS,
      refreshTtlSeconds: config.REFRESH_TOKEN_TTL_DAYS * 86_400,
      keyRotationIntervalSeconds: config.JWT_KEY_ROTATION_DAYS * 86_400,
      keyPublishLeadSeconds: config.JWT_KEY_PUBLISH_LEAD_SECONDS,
      keyset: 'access',
      encryptionKey: config.ENCRYPTION_KEY,
      previousEncryptionKeys: config.ENCRYPTION_KEYS_PREVIOUS,
      passwordHash: {
        memoryKib: config.PASSWORD_HASH_MEMORY_KIB,
        timeCost: config.PASSWORD_HASH_TIME_COST,
        concurrency: config.PASSWORD_HASH_CONCURRENCY,
        queueLimit: config.PASSWORD_HASH_QUEUE_LIMIT,
      },
      cacheTtlMs: config.AUTH_CACHE_TTL_MS,
      redisKeyPrefix: config.REDIS_KEY_PREFIX,
    },
  });
  return {
    logger,
    clock: systemClock,
    pool,
    db,
    redis,
    mailer,
    auth,
    async close() {
      auth.close();
      await Promise.allSettled([pool.end(), redis.status === 'wait' ? redis.disconnect() : redis.quit()]);
    },
  };
}
