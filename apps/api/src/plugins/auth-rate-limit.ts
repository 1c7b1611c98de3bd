import { AppError } from '@mailwarden/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';

/**
 * The coarse per-IP limits of the credential operations, one row per counter. REST routes and
 * GraphQL fields of the same operation share a row, and so one Redis counter per client address:
 * ten aliased `resetPassword` fields in one GraphQL document count ten, exactly like ten REST calls.
 * (The finer per-account limits live in the services: libs/auth attempt guard.)
 */
export const credentialLimits = {
  signUp: { name: 'sign-up', max: 20, windowSeconds: 3600 },
  signIn: { name: 'sign-in', max: 60, windowSeconds: 60 },
  secondFactor: { name: 'second-factor', max: 60, windowSeconds: 60 },
  refresh: { name: 'refresh', max: 120, windowSeconds: 60 },
  passwordReset: { name: 'password-reset', max: 20, windowSeconds: 3600 },
  invitation: { name: 'invitation', max: 30, windowSeconds: 3600 },
} as const;

export type CredentialLimit = keyof typeof credentialLimits;
type Check = (request: FastifyRequest, reply?: FastifyReply) => Promise<void>;

const built = new WeakMap<FastifyInstance, Map<CredentialLimit, Check>>();

/**
 * One attempt against a credential limit, counted in Redis by @fastify/rate-limit like the global
 * limit, but FAILING CLOSED: when Redis cannot count, the attempt is refused with 503 rather than
 * let through unmetered. Callable any number of times per request (GraphQL calls it per field).
 */
export function credentialLimiter(app: FastifyInstance, limit: CredentialLimit): Check {
  let perApp = built.get(app);
  if (!perApp) {
    perApp = new Map();
    built.set(app, perApp);
  }
  const existing = perApp.get(limit);
  if (existing) return existing;
  const { name, max, windowSeconds } = credentialLimits[limit];
  const limiter = app.createRateLimit({
    max,
    timeWindow: windowSeconds * 1000,
    keyGenerator: (request) => `credential:${name}:${request.ip}`,
    skipOnError: false,
  });
  const check: Check = async (request, reply) => {
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
      reply?.header('retry-after', verdict.ttlInSeconds);
      throw new AppError('rate_limited', {
        detail: `more than ${max} ${name} attempts from this address in ${windowSeconds} s; retry later`,
        extensions: { retryAfterSeconds: verdict.ttlInSeconds },
      });
    }
  };
  perApp.set(limit, check);
  return check;
}

/** The REST form: an onRequest hook of a credential route. */
export function credentialRateLimit(app: FastifyInstance, limit: CredentialLimit): onRequestAsyncHookHandler {
  const check = credentialLimiter(app, limit);
  return (request, reply) => check(request, reply);
}
