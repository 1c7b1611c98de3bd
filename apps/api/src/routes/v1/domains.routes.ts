import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { MonitoringApi } from '../../monitoring.ts';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { scanNowLimit, scanNowLimiter } from '../../plugins/scan-rate-limit.ts';
import {
  AddDomainBody,
  DomainList,
  DomainListQuery,
  DomainView,
  IdParams,
  PostureHistory,
  PostureQuery,
  RunList,
  RunListQuery,
  ScanAccepted,
  UpdateDomainBody,
} from '../../schemas/monitoring.ts';
import { problemResponses } from '../../schemas/problem.ts';

/**
 * Domains a tenant watches (docs/monitoring.md): add, list, show, change, stop watching, verify
 * ownership, scan now, and each domain's runs and posture history.
 */
export const domainsRoutes: FastifyPluginAsyncTypebox<{ monitoring: MonitoringApi }> = async (
  app,
  { monitoring },
) => {
  const tags = ['domains'];
  const params = IdParams('dom');
  const scanLimit = scanNowLimiter(app);

  app.post(
    '/domains',
    {
      schema: {
        operationId: 'addDomain',
        tags,
        summary: 'Watch a domain; passive DNS checks start at once, active probes once verified',
        description:
          'Example: `{"name":"acme.example","dkimSelectors":["s1"],"sendingIps":["192.0.2.25"],"alertThreshold":"high","intervals":{"dns":3600}}`. Publish `verification.recordValue` as TXT at `verification.recordName`, then POST /v1/domains/{id}/verify.',
        body: AddDomainBody,
        response: { 201: DomainView, ...problemResponses(400, 401, 403, 409) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.write' },
    },
    async (request, reply) => {
      const { name, ...input } = request.body;
      const domain = await monitoring.addDomain(principalOf(request), requestMeta(request), name, input);
      return reply.code(201).header('location', `/v1/domains/${domain.id}`).send(domain);
    },
  );

  app.get(
    '/domains',
    {
      schema: {
        operationId: 'listDomains',
        tags,
        summary: 'Watched domains, oldest first, with filters',
        description:
          'Example: `/v1/domains?search=acme&verified=true&grade=C&limit=50`; pass `nextCursor` as `cursor` for the next page.',
        querystring: DomainListQuery,
        response: { 200: DomainList, ...problemResponses(400, 401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => monitoring.domains.list(principalOf(request).tenantId, request.query),
  );

  app.get(
    '/domains/:id',
    {
      schema: {
        operationId: 'getDomain',
        tags,
        summary: 'One watched domain with its latest posture',
        params,
        response: { 200: DomainView, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => monitoring.domains.get(principalOf(request).tenantId, request.params.id),
  );

  app.patch(
    '/domains/:id',
    {
      schema: {
        operationId: 'updateDomain',
        tags,
        summary: 'Change selectors, sending IPs, threshold, probe options or intervals',
        description:
          'Fields left out stay as they are. Example: `{"alertThreshold":null,"intervals":{"tls":86400}}`',
        params,
        body: UpdateDomainBody,
        response: { 200: DomainView, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.write' },
    },
    async (request) =>
      monitoring.updateDomain(principalOf(request), requestMeta(request), request.params.id, request.body),
  );

  app.delete(
    '/domains/:id',
    {
      schema: {
        operationId: 'deleteDomain',
        tags,
        summary: 'Stop watching a domain; its history stays for the tenant’s retention period',
        params,
        response: { 204: Type.Null(), ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.write' },
    },
    async (request, reply) => {
      await monitoring.deleteDomain(principalOf(request), requestMeta(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/domains/:id/verify',
    {
      schema: {
        operationId: 'verifyDomain',
        tags,
        summary: 'Look the verification TXT record up now; verified, active probes start',
        description:
          '`verification_failed` (409) when `_mailwarden.<domain>` has no TXT record with the token yet, or DNS did not answer. A verified domain answers 200 again without a new event.',
        params,
        response: { 200: DomainView, ...problemResponses(401, 403, 404, 409) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.write' },
    },
    async (request) => monitoring.verifyDomain(principalOf(request), requestMeta(request), request.params.id),
  );

  app.post(
    '/domains/:id/scan',
    {
      schema: {
        operationId: 'scanDomain',
        tags,
        summary: `Check the domain now (at most ${scanNowLimit.max} per ${scanNowLimit.windowSeconds} s per domain)`,
        description:
          'Makes every check family due now and queues it; results arrive as runs, findings and events. The TLS family runs only for verified domains.',
        params,
        response: { 202: ScanAccepted, ...problemResponses(401, 403, 404, 429, 503) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.write' },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await scanLimit(principal.tenantId, request.params.id, reply);
      return reply.code(202).send(await monitoring.scanDomain(principal, request.params.id));
    },
  );

  app.get(
    '/domains/:id/runs',
    {
      schema: {
        operationId: 'listDomainRuns',
        tags,
        summary: 'Runs of the domain’s check families, newest first, with timing and outcome',
        params,
        querystring: RunListQuery,
        response: { 200: RunList, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) =>
      monitoring.findings.listRuns(principalOf(request).tenantId, request.params.id, request.query),
  );

  app.get(
    '/domains/:id/posture',
    {
      schema: {
        operationId: 'getDomainPostureHistory',
        tags,
        summary: 'Posture score history of the domain, oldest first (a point per change)',
        description: 'Example: `/v1/domains/dom_…/posture?since=2026-09-01T00:00:00Z` (default: 90 days)',
        params,
        querystring: PostureQuery,
        response: { 200: PostureHistory, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => ({
      items: await monitoring.findings.postureHistory(
        principalOf(request).tenantId,
        request.params.id,
        request.query.since,
      ),
    }),
  );
};
