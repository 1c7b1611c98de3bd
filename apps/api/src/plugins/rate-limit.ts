import rateLimit from '@fastify/rate-limit';
import { AppError } from '@mailwarden/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';

export interface RateLimitOptions {
  redis: Redis;
  perMinute: number;
  keyPrefix: string;
}

/**
 * One limit per client address across every API instance (counters in Redis). Routes tighten it
 * with `config.rateLimit`; health, metrics and docs opt out. For ordinary routes a Redis outage
 * lets requests through (`skipOnError`); routes that guard credentials override that to fail closed.
 */
async function rateLimits(app: FastifyInstance, options: RateLimitOptions) {
  await app.register(rateLimit, {
    global: true,
    max: options.perMinute,
    timeWindow: 60_000,
    redis: options.redis,
    nameSpace: `${options.keyPrefix}:rl:`,
    skipOnError: true,
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) =>
      new AppError('rate_limited', {
        detail: `more than ${context.max} requests in ${context.after}; retry later`,
        extensions: { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
      }),
  });
}

export default fp(rateLimits, { name: 'rate-limit' });
