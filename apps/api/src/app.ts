import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiConfig } from './config.ts';
import type { ApiContainer } from './container.ts';
import { accountsModule } from './graphql/accounts.resolvers.ts';
import { monitoringModule } from './graphql/monitoring.resolvers.ts';
import { reportMailboxesModule } from './graphql/report-mailboxes.resolvers.ts';
import { reportsModule } from './graphql/reports.resolvers.ts';
import { systemModule } from './graphql/system.resolvers.ts';
import auth from './plugins/auth.ts';
import graphql from './plugins/graphql.ts';
import metrics from './plugins/metrics.ts';
import openapi from './plugins/openapi.ts';
import problemDetails from './plugins/problem-details.ts';
import rateLimit from './plugins/rate-limit.ts';
import requestId from './plugins/request-id.ts';
import requestLog from './plugins/request-log.ts';
import routeConventions from './plugins/route-conventions.ts';
import security from './plugins/security.ts';
import { healthRoutes } from './routes/health.routes.ts';
import { jwksRoutes } from './routes/jwks.routes.ts';
import { apiKeysRoutes } from './routes/v1/api-keys.routes.ts';
import { auditRoutes } from './routes/v1/audit.routes.ts';
import { authRoutes } from './routes/v1/auth.routes.ts';
import { domainsRoutes } from './routes/v1/domains.routes.ts';
import { eventsRoutes } from './routes/v1/events.routes.ts';
import { failureReportsRoutes } from './routes/v1/failure-reports.routes.ts';
import { findingsRoutes } from './routes/v1/findings.routes.ts';
import { invitationsRoutes } from './routes/v1/invitations.routes.ts';
import { maintenanceRoutes } from './routes/v1/maintenance.routes.ts';
import { membersRoutes } from './routes/v1/members.routes.ts';
import { messagesRoutes } from './routes/v1/messages.routes.ts';
import { metaRoutes } from './routes/v1/meta.routes.ts';
import { passwordRoutes } from './routes/v1/password.routes.ts';
import { reportMailboxesRoutes } from './routes/v1/report-mailboxes.routes.ts';
import { reportsRoutes } from './routes/v1/reports.routes.ts';
import { sessionsRoutes } from './routes/v1/sessions.routes.ts';
import { tenantRoutes } from './routes/v1/tenant.routes.ts';
import { tenantDataRoutes } from './routes/v1/tenant-data.routes.ts';
import { totpRoutes } from './routes/v1/totp.routes.ts';
import { webhooksRoutes } from './routes/v1/webhooks.routes.ts';
import { version } from './version.ts';

/**
 * The whole API as one plugin: infrastructure first, then the routes, in a fixed order. server.ts
 * creates the Fastify instance and listens; tests build this on `Fastify()` and use `inject`.
 */
export function buildApp(config: ApiConfig, container: ApiContainer) {
  return fp(
    async (app: FastifyInstance) => {
      // 1. Cross-cutting infrastructure.
      app.decorate('scanNowWindowSeconds', config.SCAN_NOW_INTERVAL_SECONDS);
      await app.register(routeConventions);
      await app.register(requestId);
      await app.register(requestLog);
      await app.register(problemDetails);
      await app.register(security, { corsOrigins: config.CORS_ORIGINS });
      await app.register(metrics);
      await app.register(rateLimit, {
        redis: container.redis,
        perMinute: config.RATE_LIMIT_PER_MINUTE,
        keyPrefix: config.REDIS_KEY_PREFIX,
      });
      await app.register(openapi, { version, serverUrl: config.PUBLIC_BASE_URL });
      await app.register(auth, { authenticator: container.auth.authenticator });

      // 2. Transport: REST routes, then GraphQL over the same services.
      await app.register(healthRoutes, { container });
      await app.register(metaRoutes, { prefix: '/v1', version });
      await app.register(jwksRoutes, { auth: container.auth });
      for (const routes of [
        authRoutes,
        passwordRoutes,
        totpRoutes,
        sessionsRoutes,
        tenantRoutes,
        membersRoutes,
        invitationsRoutes,
        apiKeysRoutes,
        auditRoutes,
      ]) {
        await app.register(routes, { prefix: '/v1', auth: container.auth });
      }
      await app.register(messagesRoutes, {
        prefix: '/v1',
        checkMessage: container.checkMessage,
        maxBytes: config.MESSAGE_CHECK_MAX_BYTES,
        perMinute: config.MESSAGE_CHECK_PER_MINUTE,
      });
      await app.register(webhooksRoutes, {
        prefix: '/v1',
        auth: container.auth,
        webhooks: container.webhooks,
        enqueueDelivery: container.enqueueDelivery,
        syncDigest: container.syncDigest,
      });
      await app.register(reportsRoutes, {
        prefix: '/v1',
        reports: container.reports,
        enqueueParse: container.enqueueReportParse,
        maxBytes: config.REPORT_UPLOAD_MAX_BYTES,
        inboundDomain: config.INBOUND_DOMAIN,
        logger: container.logger,
      });
      await app.register(reportMailboxesRoutes, {
        prefix: '/v1',
        auth: container.auth,
        reportMailboxes: container.reportMailboxes,
        enqueueMailboxPoll: container.enqueueMailboxPoll,
      });
      for (const routes of [
        domainsRoutes,
        findingsRoutes,
        eventsRoutes,
        maintenanceRoutes,
        tenantDataRoutes,
      ]) {
        await app.register(routes, { prefix: '/v1', monitoring: container.monitoring });
      }
      await app.register(failureReportsRoutes, {
        prefix: '/v1',
        monitoring: container.monitoring,
        failureReports: container.failureReports,
      });
      await app.register(graphql, {
        modules: [
          systemModule(version),
          accountsModule(container.auth),
          monitoringModule(container.monitoring, container.auth.authenticator),
          reportsModule({
            reports: container.reports,
            domains: container.monitoring.domains,
            inboundDomain: config.INBOUND_DOMAIN,
          }),
          reportMailboxesModule({
            reportMailboxes: container.reportMailboxes,
            enqueueMailboxPoll: container.enqueueMailboxPoll,
          }),
        ],
        maxDepth: config.GRAPHQL_MAX_DEPTH,
        limits: { maxCost: config.GRAPHQL_MAX_COST, maxAliases: config.GRAPHQL_MAX_ALIASES },
        subscriptions: {
          authenticator: container.auth.authenticator,
          liveEvents: container.liveEvents,
          emitter: container.liveEmitter,
        },
        production: config.mode === 'production',
      });
    },
    { name: 'mailwarden-api' },
  );
}
