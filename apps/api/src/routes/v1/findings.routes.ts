import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { MonitoringApi } from '../../monitoring.ts';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import {
  AcknowledgeBody,
  FindingList,
  FindingListQuery,
  FindingView,
  IdParams,
  MuteBody,
} from '../../schemas/monitoring.ts';
import { problemResponses } from '../../schemas/problem.ts';

/** Findings of the tenant's domains, and muting or acknowledging one (docs/monitoring.md). */
export const findingsRoutes: FastifyPluginAsyncTypebox<{ monitoring: MonitoringApi }> = async (
  app,
  { monitoring },
) => {
  const tags = ['findings'];
  const params = IdParams('fnd');

  app.get(
    '/findings',
    {
      schema: {
        operationId: 'listFindings',
        tags,
        summary: 'Findings, oldest first, with filters',
        description:
          'Example: `/v1/findings?domainId=dom_…&state=open&minSeverity=high&code=dmarc.policy_none`; pass `nextCursor` as `cursor` for the next page.',
        querystring: FindingListQuery,
        response: { 200: FindingList, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => monitoring.findings.listFindings(principalOf(request).tenantId, request.query),
  );

  app.get(
    '/findings/:id',
    {
      schema: {
        operationId: 'getFinding',
        tags,
        summary: 'One finding with its evidence and life cycle',
        params,
        response: { 200: FindingView, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => monitoring.findings.getFinding(principalOf(request).tenantId, request.params.id),
  );

  app.post(
    '/findings/:id/mute',
    {
      schema: {
        operationId: 'muteFinding',
        tags,
        summary: 'No alerts for this finding until a time (null unmutes); it stays open and listed',
        description: 'Example: `{"until":"2026-12-31T00:00:00Z"}`; `until` must be in the future.',
        params,
        body: MuteBody,
        response: { 200: FindingView, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'findings.manage' },
    },
    async (request) =>
      monitoring.muteFinding(
        principalOf(request),
        requestMeta(request),
        request.params.id,
        request.body.until,
      ),
  );

  app.post(
    '/findings/:id/acknowledge',
    {
      schema: {
        operationId: 'acknowledgeFinding',
        tags,
        summary: 'Someone is on it: no alerts for it until it resolves, or until a time',
        description: 'Example: `{}` or `{"until":"2026-12-01T00:00:00Z"}`',
        params,
        body: AcknowledgeBody,
        response: { 200: FindingView, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'findings.manage' },
    },
    async (request) =>
      monitoring.acknowledgeFinding(
        principalOf(request),
        requestMeta(request),
        request.params.id,
        request.body?.until,
      ),
  );

  app.delete(
    '/findings/:id/acknowledgement',
    {
      schema: {
        operationId: 'unacknowledgeFinding',
        tags,
        summary: 'Withdraw the acknowledgement: the finding alerts again',
        params,
        response: { 200: FindingView, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'findings.manage' },
    },
    async (request) =>
      monitoring.unacknowledgeFinding(principalOf(request), requestMeta(request), request.params.id),
  );
};
