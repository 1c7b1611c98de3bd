import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '@mailwarden/core';
import { pingPool } from '@mailwarden/db';
import { Type } from 'typebox';
import type { ApiContainer } from '../container.ts';

/** Bounds a dependency check so a hung database makes /readyz answer 503, not hang. */
async function within(ms: number, probe: () => Promise<unknown>): Promise<'ok' | 'timeout' | 'error'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([probe().then(() => 'ok' as const), timeout]);
  } catch {
    return 'error';
  } finally {
    clearTimeout(timer);
  }
}

const DependencyStatus = Type.Union([Type.Literal('ok'), Type.Literal('timeout'), Type.Literal('error')]);

export const healthRoutes: FastifyPluginAsyncTypebox<{
  container: Pick<ApiContainer, 'pool' | 'redis'>;
}> = async (app, { container }) => {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['system'],
        summary: 'Liveness: the process answers',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
      config: { auth: 'public', rateLimit: false },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['system'],
        summary: 'Readiness: Postgres and Redis answer',
        response: {
          200: Type.Object({
            status: Type.Literal('ready'),
            checks: Type.Object({ postgres: DependencyStatus, redis: DependencyStatus }),
          }),
          503: Type.Ref('Problem'),
        },
      },
      config: { auth: 'public', rateLimit: false },
      logLevel: 'warn',
    },
    async () => {
      const [postgres, redis] = await Promise.all([
        within(2000, () => pingPool(container.pool)),
        within(2000, () => container.redis.ping()),
      ]);
      if (postgres !== 'ok' || redis !== 'ok') {
        throw new AppError('service_unavailable', {
          detail: `not ready: postgres ${postgres}, redis ${redis}`,
          extensions: { checks: { postgres, redis } },
        });
      }
      return { status: 'ready' as const, checks: { postgres, redis } };
    },
  );
};
