import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AUDIT_PAGE_MAX, type AuthServices } from '@mailwarden/auth';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { AuditEventView, Closed } from '../../schemas/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';

/** The tenant's audit log, newest first, for owners and admins (and admin-scoped API keys). */
export const auditRoutes: FastifyPluginAsyncTypebox<{ auth: AuthServices }> = async (app, { auth }) => {
  app.get(
    '/audit-events',
    {
      schema: {
        operationId: 'listAuditEvents',
        tags: ['audit'],
        summary: 'Audit events, newest first',
        description:
          'Pass `nextCursor` of one page as `cursor` to get the next; `null` means the end. Example: `/v1/audit-events?limit=50&cursor=aud_…`',
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX, default: 50 }),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          Closed,
        ),
        response: {
          200: Type.Object(
            { items: Type.Array(AuditEventView), nextCursor: Type.Union([Type.String(), Type.Null()]) },
            Closed,
          ),
          ...problemResponses(400, 401, 403),
        },
      },
      config: { auth: 'session-or-api-key', permission: 'audit.read' },
    },
    async (request) => auth.audit.list(principalOf(request), request.query),
  );
};
