import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError, encodeId, type Logger } from '@mailwarden/core';
import type { ReportsService } from '@mailwarden/monitoring';
import { type TSchema, Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';
import {
  DomainIdParams,
  EnforcementAdvice,
  ReportAddress,
  ReportIdParams,
  ReportList,
  ReportListQuery,
  ReportSummary,
  UploadAccepted,
  UploadStatus,
  WindowQuery,
} from '../../schemas/reports.ts';

export interface ReportsRoutesOptions {
  reports: ReportsService;
  /** Enqueues the parse job of a committed raw report. */
  enqueueParse(tenantId: string, rawReportId: string): Promise<void>;
  /** INBOUND_DOMAIN: the domain of the report addresses. */
  inboundDomain: string;
  /** REPORT_UPLOAD_MAX_BYTES. */
  maxBytes: number;
  logger: Logger;
}

/**
 * Everything a report arrives as. The format is sniffed from the bytes (docs/reports.md), so the
 * type only has to be one of these; receivers' and browsers' labels for gzip and zip vary.
 */
export const reportContentTypes = [
  'application/gzip',
  'application/x-gzip',
  'application/zip',
  'application/x-zip-compressed',
  'application/xml',
  'text/xml',
  'application/json',
  'application/tlsrpt+json',
  'application/tlsrpt+gzip',
  'message/rfc822',
  'application/octet-stream',
] as const;

/**
 * Report upload and analytics (issue 6). An upload is committed to Postgres before the 202, then
 * parsed by the worker; its status says how the parse went. Reports about domains the tenant does
 * not watch are quarantined and never listed.
 */
export const reportsRoutes: FastifyPluginAsyncTypebox<ReportsRoutesOptions> = async (app, options) => {
  const bodyLimit = options.maxBytes;
  // Encapsulated: these raw parsers (JSON included) apply to this plugin's routes only.
  // text/plain is removed so a pasted text body is a 415, not a report.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(
    [...reportContentTypes],
    { parseAs: 'buffer', bodyLimit },
    (_request, body, done) => done(null, body),
  );

  const raw = Type.Unknown({ description: 'The report file, bytes as received' });
  app.post(
    '/reports',
    {
      bodyLimit,
      schema: {
        operationId: 'uploadReport',
        tags: ['reports'],
        summary: 'Upload a DMARC aggregate or SMTP TLS report (xml, gz, zip, json or a whole .eml)',
        description:
          'The bytes are stored before the answer, then parsed in the background; poll `GET /v1/reports/uploads/{id}` for the outcome. The format is read from the bytes, not the content type. The same bytes twice are one upload (`duplicate: true`); the same report in other bytes is stored once. Example: `curl -H "Authorization: Bearer …" -H "Content-Type: application/gzip" --data-binary @report.xml.gz https://api.example/v1/reports`',
        body: {
          content: Object.fromEntries(reportContentTypes.map((type) => [type, { schema: raw }])),
        } as unknown as TSchema,
        response: { 202: UploadAccepted, ...problemResponses(400, 401, 403, 413, 415, 429) },
      },
      config: {
        auth: 'session-or-api-key',
        permission: 'domains.write',
        rateLimit: { max: 60, timeWindow: 60_000 },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (!Buffer.isBuffer(request.body) || request.body.length === 0)
        throw new AppError('validation_failed', {
          errors: [{ location: 'body', message: 'the report is empty' }],
        });
      const stored = await options.reports.store(principal.tenantId, 'upload', request.body);
      if (stored.state === 'pending') {
        // Committed already: a lost enqueue is found again by the worker's sweep, so it is not an error.
        await options.enqueueParse(principal.tenantId, stored.id).catch((err: unknown) => {
          options.logger.warn({ err, rawReportId: stored.id }, 'report parse not enqueued; the sweep will');
        });
      }
      const id = encodeId('rpt', stored.id);
      reply.code(202).header('location', `/v1/reports/uploads/${id}`);
      return { id, state: stored.state, duplicate: stored.duplicate };
    },
  );

  app.get(
    '/reports/address',
    {
      schema: {
        operationId: 'getReportAddress',
        tags: ['reports'],
        summary: 'The address receivers mail this tenant’s DMARC aggregate and TLS reports to',
        response: { 200: ReportAddress, ...problemResponses(401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => {
      const token = await options.reports.reportAddressToken(principalOf(request).tenantId);
      const address = `${token}@${options.inboundDomain}`;
      return {
        address,
        rua: `mailto:${address}`,
        tlsRpt: `v=TLSRPTv1; rua=mailto:${address}`,
        authorizationRecord: `*._report._dmarc.${options.inboundDomain}. TXT "v=DMARC1"`,
      };
    },
  );

  app.get(
    '/reports/uploads/:id',
    {
      schema: {
        operationId: 'getReportUpload',
        tags: ['reports'],
        summary: 'How the parse of an uploaded or received report went',
        params: ReportIdParams,
        response: { 200: UploadStatus, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => options.reports.status(principalOf(request).tenantId, request.params.id),
  );

  app.get(
    '/reports',
    {
      schema: {
        operationId: 'listReports',
        tags: ['reports'],
        summary: 'DMARC aggregate and TLS reports about the tenant’s domains, newest first',
        description:
          'Pass `nextCursor` as `cursor` for the next page. Example: `/v1/reports?kind=aggregate&limit=50`',
        querystring: ReportListQuery,
        response: { 200: ReportList, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => options.reports.list(principalOf(request).tenantId, request.query),
  );

  /**
   * Names the sources of one response with one read of the source-name cache (reverse DNS and the
   * sending service; addresses not yet known are looked up within the namer's deadline, else null).
   */
  async function namer(sources: readonly { ip: string | null }[]) {
    const ips = [...new Set(sources.flatMap((s) => (s.ip ? [s.ip] : [])))];
    const names = ips.length > 0 ? await options.reports.sourceNames(ips) : new Map();
    return (s: { ip: string | null }) => (s.ip ? (names.get(s.ip) ?? null) : null);
  }

  app.get(
    '/domains/:id/reports/summary',
    {
      schema: {
        operationId: 'getDomainReportSummary',
        tags: ['reports'],
        summary:
          'Per UTC day: volume, DMARC pass rate, SPF/DKIM alignment, dispositions; top sources, reporters, TLS failures',
        description: 'Example: `/v1/domains/dom_…/reports/summary?from=2026-11-01&to=2026-11-30`',
        params: DomainIdParams,
        querystring: WindowQuery,
        response: { 200: ReportSummary, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => {
      const summary = await options.reports.summary(
        principalOf(request).tenantId,
        request.params.id,
        request.query,
      );
      const name = await namer(summary.topSources);
      return { ...summary, topSources: summary.topSources.map((s) => ({ ...s, name: name(s) })) };
    },
  );

  app.get(
    '/domains/:id/enforcement-advice',
    {
      schema: {
        operationId: 'getEnforcementAdvice',
        tags: ['reports'],
        summary: 'Can the domain move to p=quarantine or p=reject, and which sources still fail alignment',
        params: DomainIdParams,
        querystring: WindowQuery,
        response: { 200: EnforcementAdvice, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => {
      const advice = await options.reports.enforcementAdvice(
        principalOf(request).tenantId,
        request.params.id,
        request.query,
      );
      const name = await namer([...advice.blockingSources, ...advice.unauthenticatedSources]);
      return {
        ...advice,
        blockingSources: advice.blockingSources.map((s) => ({ ...s, name: name(s) })),
        unauthenticatedSources: advice.unauthenticatedSources.map((s) => ({ ...s, name: name(s) })),
      };
    },
  );
};
