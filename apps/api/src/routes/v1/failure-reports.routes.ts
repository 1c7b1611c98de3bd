import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FailureReportsService } from '@mailwarden/monitoring';
import type { MonitoringApi } from '../../monitoring.ts';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import {
  FailureReportIdParams,
  FailureReportList,
  FailureReportListQuery,
  FailureReportView,
  MonitoringSettings,
  MonitoringSettingsPatch,
} from '../../schemas/failure-reports.ts';
import { problemResponses } from '../../schemas/problem.ts';

/**
 * The tenant's monitoring settings (alert threshold, retention, the failure-report opt-in) and the
 * failure reports stored under that opt-in (docs/reports.md "Failure reports").
 */
export const failureReportsRoutes: FastifyPluginAsyncTypebox<{
  monitoring: MonitoringApi;
  failureReports: FailureReportsService;
}> = async (app, { monitoring, failureReports }) => {
  app.get(
    '/tenant/monitoring-settings',
    {
      schema: {
        operationId: 'getMonitoringSettings',
        tags: ['tenant'],
        summary: 'Alert threshold, retention, domain quota and the failure-report opt-in',
        response: { 200: MonitoringSettings, ...problemResponses(401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'tenant.read' },
    },
    async (request) => monitoring.settings(principalOf(request)),
  );

  app.patch(
    '/tenant/monitoring-settings',
    {
      schema: {
        operationId: 'updateMonitoringSettings',
        tags: ['tenant'],
        summary: 'Change the alert threshold, retention or the failure-report opt-in (owner, admin)',
        description:
          'Fields left out stay as they are. Switching `failureReports.store` off deletes the stored failure reports at once. Example: `{"alertThreshold":"high","retentionDays":180,"failureReports":{"store":true,"retentionDays":14}}`',
        body: MonitoringSettingsPatch,
        response: { 200: MonitoringSettings, ...problemResponses(400, 401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'tenant.settings.update' },
    },
    async (request) => monitoring.updateSettings(principalOf(request), requestMeta(request), request.body),
  );

  app.get(
    '/reports/failures',
    {
      schema: {
        operationId: 'listFailureReports',
        tags: ['reports'],
        summary: 'Stored DMARC failure (ARF) reports, redacted, newest first (only with the opt-in)',
        description:
          'Pass `nextCursor` as `cursor` for the next page. Example: `/v1/reports/failures?domainId=dom_…&limit=50`',
        querystring: FailureReportListQuery,
        response: { 200: FailureReportList, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => failureReports.list(principalOf(request).tenantId, request.query),
  );

  app.get(
    '/reports/failures/:id',
    {
      schema: {
        operationId: 'getFailureReport',
        tags: ['reports'],
        summary: 'One stored DMARC failure report',
        params: FailureReportIdParams,
        response: { 200: FailureReportView, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'domains.read' },
    },
    async (request) => failureReports.get(principalOf(request).tenantId, request.params.id),
  );
};
