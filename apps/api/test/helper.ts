import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { buildApp } from '../src/app.ts';
import { type ApiConfig, loadApiConfig } from '../src/config.ts';
import { type ApiContainer, createApiContainer } from '../src/container.ts';
import { fastifyOptions } from '../src/fastify-options.ts';

export interface TestApp {
  app: FastifyInstance;
  config: ApiConfig;
  container: ApiContainer;
  close(): Promise<void>;
}

/**
 * The real app on the run's test database and the local Redis, with a Redis key prefix of its own
 * so rate-limit counters of parallel test files never meet. `extend` registers extra routes after
 * the app's own, to drive shared machinery (error mapping) through routes later issues will add.
 */
export async function buildTestApp(
  env: Record<string, string> = {},
  extend?: (app: FastifyInstance) => void | Promise<void>,
): Promise<TestApp> {
  const config = loadApiConfig({
    MAILWARDEN_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_KEY_PREFIX: `test-${randomUUID()}`,
    QUEUE_PREFIX: `test-${randomUUID()}`,
    // Nothing listens there: a test that needs DNS passes its own loopback server.
    DNS_SERVERS: '127.0.0.1:9',
    ...env,
  });
  const container = createApiContainer(config);
  await waitForRedis(container.redis);
  const app = Fastify(fastifyOptions(config));
  await app.register(buildApp(config, container));
  if (extend) await extend(app);
  await app.ready();
  return {
    app,
    config,
    container,
    async close() {
      await app.close();
      await container.close();
    },
  };
}

/** A producer connection refuses commands until it is ready; tests wait for it explicitly. */
export async function waitForRedis(redis: ApiContainer['redis']): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis not ready in 5 s')), 5_000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
