import { AppError } from '@mailwarden/core';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * "Scan now" is limited per domain of a tenant, not per address: each scan costs DNS lookups at
 * the domain's servers (and SMTP probes once verified), whoever asks. The counter lives in Redis
 * with the other limits (@fastify/rate-limit's store), shared by REST and GraphQL. It is counted
 * after authentication and keyed by the caller's tenant, so another tenant sending our domain's id
 * spends only its own counter. When Redis cannot count, scans go through: the queue collapses
 * duplicate slots and the schedules bound the load.
 */
export const scanNowLimit = { max: 1, windowSeconds: 60 } as const;
/**
 * The window in use is SCAN_NOW_INTERVAL_SECONDS, which buildApp decorates the app with
 * (`scanNowWindowSeconds`); children inherit decorations. Without it, `scanNowLimit.windowSeconds`.
 */
function windowOf(app: FastifyInstance): number {
  const decorated = (app as unknown as { scanNowWindowSeconds?: number }).scanNowWindowSeconds;
  return typeof decorated === 'number' ? decorated : scanNowLimit.windowSeconds;
}

type ScanCheck = (tenantId: string, domainId: string, reply?: FastifyReply) => Promise<void>;
const built = new WeakMap<FastifyInstance, ScanCheck>();

export function scanNowLimiter(app: FastifyInstance): ScanCheck {
  const existing = built.get(app);
  if (existing) return existing;
  const { max } = scanNowLimit;
  const windowSeconds = windowOf(app);
  const limiter = app.createRateLimit({
    max,
    timeWindow: windowSeconds * 1000,
    keyGenerator: (request) => (request as unknown as { scanKey: string }).scanKey,
    skipOnError: true,
  });
  const check: ScanCheck = async (tenantId, domainId, reply) => {
    // The limiter reads only the key and the route's rate-limit group from what it is given.
    const verdict = await limiter({
      scanKey: `scan:${tenantId}:${domainId.slice(0, 64)}`,
      routeOptions: { config: {} },
    } as never);
    if (!verdict.isAllowed && verdict.isExceeded) {
      reply?.header('retry-after', verdict.ttlInSeconds);
      throw new AppError('rate_limited', {
        detail: `this domain was scanned less than ${windowSeconds} s ago; its next scan is due in ${verdict.ttlInSeconds} s`,
        extensions: { retryAfterSeconds: verdict.ttlInSeconds },
      });
    }
  };
  built.set(app, check);
  return check;
}
