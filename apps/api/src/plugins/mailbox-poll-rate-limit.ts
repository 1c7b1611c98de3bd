import { AppError } from '@mailwarden/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';

/**
 * "Poll a report mailbox now" is limited per client address: each poll logs in to the tenant's
 * mail server (and may refresh an OAuth token at its provider). `POST /v1/reports/mailboxes/{id}/poll`
 * and GraphQL's `pollReportMailbox` count against one Redis counter (@fastify/rate-limit's store),
 * once per request or field, so ten aliased fields in one document count ten, like ten REST calls.
 * It is counted before authentication (REST: onRequest), as a route's own limit is. When Redis
 * cannot count, polls go through like every other ordinary limit: the job id collapses polls asked
 * for within 10 s, and a poll holds a lease on its mailbox.
 */
export const mailboxPollLimit = { max: 6, windowSeconds: 60 } as const;

type PollCheck = (request: FastifyRequest, reply?: FastifyReply) => Promise<void>;
const built = new WeakMap<FastifyInstance, PollCheck>();

export function mailboxPollLimiter(app: FastifyInstance): PollCheck {
  const existing = built.get(app);
  if (existing) return existing;
  const { max, windowSeconds } = mailboxPollLimit;
  const limiter = app.createRateLimit({
    max,
    timeWindow: windowSeconds * 1000,
    keyGenerator: (request) => `mailbox-poll:${request.ip}`,
    skipOnError: true,
  });
  const check: PollCheck = async (request, reply) => {
    const verdict = await limiter(request);
    if (!verdict.isAllowed && verdict.isExceeded) {
      reply?.header('retry-after', verdict.ttlInSeconds);
      throw new AppError('rate_limited', {
        detail: `more than ${max} polls asked for from this address in ${windowSeconds} s; retry later`,
        extensions: { retryAfterSeconds: verdict.ttlInSeconds },
      });
    }
  };
  built.set(app, check);
  return check;
}

/** The REST form: an onRequest hook of the poll route. */
export function mailboxPollRateLimit(app: FastifyInstance): onRequestAsyncHookHandler {
  const check = mailboxPollLimiter(app);
  return (request, reply) => check(request, reply);
}
