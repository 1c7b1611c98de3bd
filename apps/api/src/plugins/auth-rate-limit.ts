import { AppError } from '@mailwarden/core';
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';

/**
 * A per-IP limit for a credential route (sign-in, second factor, reset, sign-up), counted in
 * Redis by @fastify/rate-limit like the global limit, but FAILING CLOSED: when Redis cannot
 * count, the attempt is refused with 503 rather than let through unmetered. The per-account
 * limits live in the services (libs/auth attempt guard), where GraphQL attempts count as well.
 */
export function credentialRateLimit(
  app: FastifyInstance,
  name: string,
  max: number,
  windowSeconds: number,
): onRequestAsyncHookHandler {
  const limiter = app.createRateLimit({
    max,
    timeWindow: windowSeconds * 1000,
    keyGenerator: (request) => `credential:${name}:${request.ip}`,
    skipOnError: false,
  });
  return async (request, reply) => {
    let verdict: Awaited<ReturnType<typeof limiter>>;
    try {
      verdict = await limiter(request);
    } catch (err) {
      throw new AppError('service_unavailable', {
        detail: 'the sign-in guard cannot reach its store; retry in a moment',
        extensions: { retryAfterSeconds: 5 },
        cause: err,
      });
    }
    if (!verdict.isAllowed && verdict.isExceeded) {
      reply.header('retry-after', verdict.ttlInSeconds);
      throw new AppError('rate_limited', {
        detail: `more than ${max} ${name} attempts from this address in ${windowSeconds} s; retry later`,
        extensions: { retryAfterSeconds: verdict.ttlInSeconds },
      });
    }
  };
}
