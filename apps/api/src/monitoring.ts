/**
 * What REST and GraphQL do around the monitoring services, in one place so both transports behave
 * alike: the service call, then its audit entry, then the queue work it implies (after the commit,
 * DESIGN.md §5) and the live event. Permissions are checked by the transport before calling here
 * (route `config.permission`, resolver `caller`); the tenant always comes from the principal.
 *
 * The audit entry is written in its own transaction right after the change: the monitoring
 * services own their transactions. A crash between the two loses the entry, never the change.
 */
import { type AuditService, actorOf, type Principal, type RequestMeta } from '@mailwarden/auth';
import { AppError, decodeId, encodeId, type Logger } from '@mailwarden/core';
import type { CheckFamily } from '@mailwarden/db';
import {
  type DomainInput,
  type DomainsService,
  enqueueChecks,
  type FindingsService,
  type MonitoringSettingsPatch,
  type MonitoringSettingsService,
  type TenantDataService,
} from '@mailwarden/monitoring';
import { dispatchEventJob, type Producer, queueNames } from '@mailwarden/queue';
import type { LiveEvents } from './live-events.ts';

export interface MonitoringApiDeps {
  domains: DomainsService;
  findings: FindingsService;
  tenantData: TenantDataService;
  settings: MonitoringSettingsService;
  audit: Pick<AuditService, 'recordInTenants'>;
  producer: Pick<Producer, 'enqueue' | 'enqueueBulk'>;
  liveEvents: LiveEvents;
  /** The tenant's display name, for the delete confirmation. */
  tenantName(principal: Principal): Promise<string>;
  logger: Logger;
}

export function createMonitoringApi(deps: MonitoringApiDeps) {
  const { domains, findings, tenantData, logger } = deps;

  async function audit(
    principal: Principal,
    meta: RequestMeta,
    action: string,
    target: { type: string; id: string },
    details: Record<string, unknown> = {},
  ) {
    await deps.audit.recordInTenants([principal.tenantId], {
      action,
      actor: actorOf(principal),
      target,
      ip: meta.ip,
      userAgent: meta.userAgent,
      details,
    });
  }

  /**
   * Best effort, after the commit: a lost dispatch job is found again by the outbox sweeper, a lost
   * live message is in the event history. Neither fails the request that made the event.
   */
  async function announce(
    tenantId: string,
    eventId: string,
    domainId: string | null,
    type: 'domain.verified',
  ) {
    await deps.producer
      .enqueueBulk(queueNames.webhooks, [dispatchEventJob({ tenantId, eventId })])
      .catch((err: unknown) =>
        logger.warn({ err, eventId }, 'event dispatch not enqueued; the sweeper will'),
      );
    await deps.liveEvents
      .publish([{ tenantId, eventId, domainId, type }])
      .catch((err: unknown) => logger.warn({ err, eventId }, 'live event not published'));
  }

  return {
    domains,
    findings,

    settings(principal: Principal) {
      return deps.settings.get(principal.tenantId);
    },

    async updateSettings(principal: Principal, meta: RequestMeta, patch: MonitoringSettingsPatch) {
      const change = await deps.settings.update(principal.tenantId, patch);
      await audit(
        principal,
        meta,
        'tenant.monitoring_settings_updated',
        { type: 'tenant', id: encodeId('ten', principal.tenantId) },
        { before: change.before, after: change.after, failureReportsDeleted: change.failureReportsDeleted },
      );
      return change.after;
    },

    async addDomain(principal: Principal, meta: RequestMeta, name: string, input: DomainInput) {
      const domain = await domains.add(principal.tenantId, name, input);
      await audit(principal, meta, 'domain.added', { type: 'domain', id: domain.id }, { name: domain.name });
      return domain;
    },

    async updateDomain(principal: Principal, meta: RequestMeta, id: string, input: DomainInput) {
      const domain = await domains.update(principal.tenantId, id, input);
      await audit(
        principal,
        meta,
        'domain.updated',
        { type: 'domain', id: domain.id },
        { name: domain.name, fields: Object.keys(input).sort() },
      );
      return domain;
    },

    async deleteDomain(principal: Principal, meta: RequestMeta, id: string) {
      const domain = await domains.get(principal.tenantId, id);
      await domains.remove(principal.tenantId, id);
      await audit(
        principal,
        meta,
        'domain.deleted',
        { type: 'domain', id: domain.id },
        { name: domain.name },
      );
    },

    async verifyDomain(principal: Principal, meta: RequestMeta, id: string) {
      const { domain, eventId } = await domains.verify(principal.tenantId, id);
      if (eventId) {
        await audit(
          principal,
          meta,
          'domain.verified',
          { type: 'domain', id: domain.id },
          { name: domain.name },
        );
        await announce(principal.tenantId, eventId, decodeId('dom', domain.id) ?? null, 'domain.verified');
      }
      return domain;
    },

    /** Makes every family due now and queues it; the caller has applied the per-domain rate limit. */
    async scanDomain(principal: Principal, id: string) {
      const payloads = await domains.scanNow(principal.tenantId, id);
      let queued: number;
      try {
        queued = await enqueueChecks(deps.producer as Producer, payloads);
      } catch (err) {
        // The schedules are due now in Postgres: the next tick queues them even if this failed.
        logger.warn({ err, domainId: id }, 'scan now not enqueued; the next tick will');
        if (err instanceof AppError) throw err;
        throw new AppError('service_unavailable', { detail: 'the job queue is not reachable', cause: err });
      }
      return { domainId: id, families: payloads.map((p) => p.family as CheckFamily), queued };
    },

    async muteFinding(principal: Principal, meta: RequestMeta, id: string, until: string | null) {
      const finding = await findings.mute(principal.tenantId, id, until);
      await audit(
        principal,
        meta,
        until === null ? 'finding.unmuted' : 'finding.muted',
        { type: 'finding', id: finding.id },
        { code: finding.code, until: finding.mutedUntil },
      );
      return finding;
    },

    async acknowledgeFinding(principal: Principal, meta: RequestMeta, id: string, until?: string | null) {
      const finding = await findings.acknowledge(principal.tenantId, id, principal.actorId, until);
      await audit(
        principal,
        meta,
        'finding.acknowledged',
        { type: 'finding', id: finding.id },
        { code: finding.code, until: finding.acknowledgedUntil },
      );
      return finding;
    },

    async unacknowledgeFinding(principal: Principal, meta: RequestMeta, id: string) {
      const finding = await findings.unacknowledge(principal.tenantId, id);
      await audit(
        principal,
        meta,
        'finding.unacknowledged',
        { type: 'finding', id: finding.id },
        { code: finding.code },
      );
      return finding;
    },

    async createMaintenanceWindow(
      principal: Principal,
      meta: RequestMeta,
      input: { domainId?: string | null; startsAt: string; endsAt: string; reason?: string },
    ) {
      const window = await findings.createMaintenanceWindow(principal.tenantId, input);
      await audit(
        principal,
        meta,
        'maintenance_window.created',
        { type: 'maintenance_window', id: window.id },
        { domainId: window.domainId, startsAt: window.startsAt, endsAt: window.endsAt },
      );
      return window;
    },

    async deleteMaintenanceWindow(principal: Principal, meta: RequestMeta, id: string) {
      await findings.deleteMaintenanceWindow(principal.tenantId, id);
      await audit(principal, meta, 'maintenance_window.deleted', { type: 'maintenance_window', id });
    },

    async exportTenant(principal: Principal, meta: RequestMeta) {
      const document = await tenantData.export(principal.tenantId);
      // After the read, so the export does not contain its own entry and a failed export logs none.
      await audit(principal, meta, 'tenant.exported', { type: 'tenant', id: tenantIdOf(document) });
      return document;
    },

    /**
     * Everything of the tenant goes, its audit log included (a cascade), so the record of who did
     * it is the application log.
     */
    async deleteTenant(principal: Principal, meta: RequestMeta, confirm: string) {
      const name = await deps.tenantName(principal);
      if (confirm !== name)
        throw new AppError('validation_failed', {
          detail: 'confirm must be the tenant’s name, exactly',
          errors: [{ location: 'body.confirm', message: 'is not the tenant’s name' }],
        });
      await tenantData.deleteAll(principal.tenantId);
      logger.warn(
        { event: 'tenant.deleted', tenantId: principal.tenantId, actor: actorOf(principal), ip: meta.ip },
        'tenant and all its data deleted on request',
      );
    },
  };
}

function tenantIdOf(document: Record<string, unknown>): string {
  return ((document.tenant as { id?: string } | null)?.id ?? '') as string;
}

export type MonitoringApi = ReturnType<typeof createMonitoringApi>;
