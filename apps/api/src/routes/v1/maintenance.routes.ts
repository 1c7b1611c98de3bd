import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { MonitoringApi } from '../../monitoring.ts';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import {
  CreateMaintenanceWindowBody,
  IdParams,
  MaintenanceWindowList,
  MaintenanceWindowView,
} from '../../schemas/monitoring.ts';
import { problemResponses } from '../../schemas/problem.ts';

/**
 * Maintenance windows: while one is open, checks still run and history is kept, but events alert
 * nobody (`suppressed: "maintenance"`).
 */
export const maintenanceRoutes: FastifyPluginAsyncTypebox<{ monitoring: MonitoringApi }> = async (
  app,
  { monitoring },
) => {
  const tags = ['maintenance-windows'];

  app.get(
    '/maintenance-windows',
    {
      schema: {
        operationId: 'listMaintenanceWindows',
        tags,
        summary: 'Current and future maintenance windows, soonest first',
        response: { 200: MaintenanceWindowList, ...problemResponses(401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => ({
      items: await monitoring.findings.listMaintenanceWindows(principalOf(request).tenantId),
    }),
  );

  app.post(
    '/maintenance-windows',
    {
      schema: {
        operationId: 'createMaintenanceWindow',
        tags,
        summary: 'Silence alerts of one domain, or of all, between two times (at most 31 days)',
        description:
          'Example: `{"domainId":"dom_…","startsAt":"2026-12-01T22:00:00Z","endsAt":"2026-12-02T02:00:00Z","reason":"MX migration"}`',
        body: CreateMaintenanceWindowBody,
        response: { 201: MaintenanceWindowView, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'maintenance.manage' },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await monitoring.createMaintenanceWindow(principalOf(request), requestMeta(request), request.body),
        ),
  );

  app.delete(
    '/maintenance-windows/:id',
    {
      schema: {
        operationId: 'deleteMaintenanceWindow',
        tags,
        summary: 'Delete a maintenance window (alerts resume at once)',
        params: IdParams('mnt'),
        response: { 204: Type.Null(), ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'maintenance.manage' },
    },
    async (request, reply) => {
      await monitoring.deleteMaintenanceWindow(principalOf(request), requestMeta(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
