import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EventType } from '@mailwarden/db';
import type { MonitoringApi } from '../../monitoring.ts';
import { principalOf } from '../../plugins/auth.ts';
import { EventList, EventListQuery } from '../../schemas/monitoring.ts';
import { problemResponses } from '../../schemas/problem.ts';

/** The event history (the outbox): regressions, fixes, verifications, newest first. */
export const eventsRoutes: FastifyPluginAsyncTypebox<{ monitoring: MonitoringApi }> = async (
  app,
  { monitoring },
) => {
  app.get(
    '/events',
    {
      schema: {
        operationId: 'listEvents',
        tags: ['events'],
        summary: 'Monitoring events, newest first',
        description:
          'Suppressed events (below threshold, muted, acknowledged, in a maintenance window) are listed with `suppressed` set; they alerted nobody. Example: `/v1/events?domainId=dom_…&type=finding.opened`. Live: the GraphQL `events` subscription.',
        querystring: EventListQuery,
        response: { 200: EventList, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) =>
      monitoring.findings.listEvents(principalOf(request).tenantId, {
        ...request.query,
        type: request.query.type as EventType | undefined,
      }),
  );
};
