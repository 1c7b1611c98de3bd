import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { MonitoringApi } from '../../monitoring.ts';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { DeleteTenantBody, TenantExport } from '../../schemas/monitoring.ts';
import { problemResponses } from '../../schemas/problem.ts';

/** GDPR: all of a tenant's data as one document, and its deletion (docs/monitoring.md). */
export const tenantDataRoutes: FastifyPluginAsyncTypebox<{ monitoring: MonitoringApi }> = async (
  app,
  { monitoring },
) => {
  const tags = ['tenant'];

  app.get(
    '/tenant/export',
    {
      schema: {
        operationId: 'exportTenant',
        tags,
        summary: 'Everything the tenant gave us or we recorded about it, as one JSON document',
        description:
          'Secrets never leave: API keys show their prefix, webhook endpoints their display target. Each export is in the audit log (`tenant.exported`). A few requests per hour at most.',
        response: { 200: TenantExport, ...problemResponses(401, 403, 429) },
      },
      config: {
        auth: 'session-or-api-key',
        permission: 'tenant.export',
        // A whole-tenant read: a handful per hour is plenty for its purpose.
        rateLimit: { max: 5, timeWindow: 3_600_000 },
      },
    },
    async (request, reply) => {
      const document = await monitoring.exportTenant(principalOf(request), requestMeta(request));
      reply.header('content-disposition', 'attachment; filename="mailwarden-export.json"');
      return document as { format: 'mailwarden-tenant-export/1'; exportedAt: string };
    },
  );

  app.delete(
    '/tenant',
    {
      schema: {
        operationId: 'deleteTenant',
        tags,
        summary: 'Delete the tenant and all its data, at once and for good (owner, signed in)',
        description:
          'Body: `{"confirm":"<the tenant’s name>"}`. Domains, findings, history, events, webhooks, API keys, memberships and the audit log go; user accounts stay (they may belong to other tenants). Monitoring of its domains stops.',
        body: DeleteTenantBody,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403) },
      },
      config: { auth: 'session', permission: 'tenant.delete' },
    },
    async (request, reply) => {
      await monitoring.deleteTenant(principalOf(request), requestMeta(request), request.body.confirm);
      return reply.code(204).send(null);
    },
  );
};
