import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthServices } from '@mailwarden/auth';
import { Type } from 'typebox';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { IdParams, SessionView } from '../../schemas/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';

/** The signed-in user's own sessions in this tenant. */
export const sessionsRoutes: FastifyPluginAsyncTypebox<{ auth: AuthServices }> = async (app, { auth }) => {
  const tags = ['auth'];

  app.get(
    '/auth/sessions',
    {
      schema: {
        operationId: 'listSessions',
        tags,
        summary: 'My active sessions in this tenant',
        response: { 200: Type.Array(SessionView), ...problemResponses(401) },
      },
      config: { auth: 'session' },
    },
    async (request) => auth.sessions.list(principalOf(request)),
  );

  app.delete(
    '/auth/sessions/:id',
    {
      schema: {
        operationId: 'revokeSession',
        tags,
        summary: 'End one of my sessions (its tokens stop working at once)',
        params: IdParams('ses'),
        response: { 204: Type.Null(), ...problemResponses(401, 404) },
      },
      config: { auth: 'session' },
    },
    async (request, reply) => {
      await auth.sessions.revoke(principalOf(request), request.params.id, requestMeta(request));
      return reply.code(204).send(null);
    },
  );
};
