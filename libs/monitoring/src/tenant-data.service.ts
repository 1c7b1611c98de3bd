/**
 * GDPR: everything a tenant has given us or we recorded about it, as one JSON document, and the
 * deletion of all of it. Secrets never leave: API keys export their prefix and scopes, webhook
 * endpoints their display target, never the sealed values or hashes.
 */
import { encodeId } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import { eq } from 'drizzle-orm';
import { toEventView, toFindingView, toRunView } from './findings.service.ts';

/** Rows per table in one export; a tenant past this gets a truncated section flagged as such. */
export const exportRowLimit = 200_000;

export function createTenantDataService(deps: { db: Database; now: () => Date }) {
  const { db } = deps;
  return {
    async export(tenantId: string): Promise<Record<string, unknown>> {
      return withTenant(db, tenantId, async (tx) => {
        const s = schema;
        const take = <T>(rows: T[]) => ({
          truncated: rows.length > exportRowLimit,
          rows: rows.slice(0, exportRowLimit),
        });
        const [tenant] = await tx.select().from(s.tenants).where(eq(s.tenants.id, tenantId));
        const settings = await tx.select().from(s.tenantSettings);
        const members = await tx.select().from(s.memberships);
        const apiKeys = await tx.select().from(s.apiKeys);
        const audit = await tx
          .select()
          .from(s.auditEvents)
          .limit(exportRowLimit + 1);
        const domains = await tx.select().from(s.domains);
        const schedules = await tx.select().from(s.domainSchedules);
        const findings = await tx
          .select()
          .from(s.findings)
          .limit(exportRowLimit + 1);
        const runs = await tx
          .select()
          .from(s.checkRuns)
          .limit(exportRowLimit + 1);
        const posture = await tx
          .select()
          .from(s.postureHistory)
          .limit(exportRowLimit + 1);
        const events = await tx
          .select()
          .from(s.monitoringEvents)
          .limit(exportRowLimit + 1);
        const windows = await tx.select().from(s.maintenanceWindows);
        const endpoints = await tx.select().from(s.webhookEndpoints);
        const deliveries = await tx
          .select()
          .from(s.webhookDeliveries)
          .limit(exportRowLimit + 1);
        // Reports: what was received (metadata; the bytes are the reporters' mail, not ours to
        // re-send) and everything parsed from it.
        const rawReports = await tx
          .select({
            id: s.rawReports.id,
            receivedVia: s.rawReports.receivedVia,
            sha256: s.rawReports.sha256,
            size: s.rawReports.size,
            receivedAt: s.rawReports.receivedAt,
            parseState: s.rawReports.parseState,
            errorCode: s.rawReports.errorCode,
          })
          .from(s.rawReports)
          .limit(exportRowLimit + 1);
        const aggregateReports = await tx
          .select()
          .from(s.dmarcReports)
          .limit(exportRowLimit + 1);
        const aggregateRows = await tx
          .select()
          .from(s.dmarcReportRows)
          .limit(exportRowLimit + 1);
        const tlsReports = await tx
          .select()
          .from(s.tlsReports)
          .limit(exportRowLimit + 1);
        const tlsPolicies = await tx
          .select()
          .from(s.tlsReportPolicies)
          .limit(exportRowLimit + 1);
        const failureReports = await tx
          .select()
          .from(s.failureReports)
          .limit(exportRowLimit + 1);
        const reportAddresses = await tx.select().from(s.reportAddresses);
        const mailboxes = await tx.select().from(s.reportMailboxes);
        return {
          format: 'mailwarden-tenant-export/1',
          exportedAt: deps.now().toISOString(),
          tenant: tenant
            ? { id: encodeId('ten', tenant.id), name: tenant.name, createdAt: tenant.createdAt }
            : null,
          settings: settings[0] ?? null,
          members: members.map((m) => ({
            userId: encodeId('usr', m.userId),
            role: m.role,
            createdAt: m.createdAt,
          })),
          apiKeys: apiKeys.map((k) => ({
            id: encodeId('key', k.id),
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes,
            createdAt: k.createdAt,
            expiresAt: k.expiresAt,
            revokedAt: k.revokedAt,
          })),
          auditEvents: take(audit.map((a) => ({ ...a, id: encodeId('aud', a.id), tenantId: undefined }))),
          domains: domains.map((d) => ({
            id: encodeId('dom', d.id),
            name: d.name,
            verifiedAt: d.verifiedAt,
            dkimSelectors: d.dkimSelectors,
            sendingIps: d.sendingIps,
            alertThreshold: d.alertThreshold,
            probeOptions: d.probeOptions,
            createdAt: d.createdAt,
            deletedAt: d.deletedAt,
            schedules: schedules
              .filter((x) => x.domainId === d.id)
              .map((x) => ({ family: x.family, intervalSeconds: x.intervalSeconds, nextRunAt: x.nextRunAt })),
          })),
          findings: take(findings.map(toFindingView)),
          runs: take(runs.map(toRunView)),
          postureHistory: take(
            posture.map((p) => ({
              domainId: encodeId('dom', p.domainId),
              recordedAt: p.recordedAt,
              score: p.score,
              grade: p.grade,
            })),
          ),
          events: take(events.map(toEventView)),
          maintenanceWindows: windows.map((w) => ({ ...w, id: encodeId('mnt', w.id), tenantId: undefined })),
          webhookEndpoints: endpoints.map((e) => ({
            id: encodeId('whk', e.id),
            format: e.format,
            target: e.displayTarget,
            events: e.events,
            enabled: e.enabled,
            createdAt: e.createdAt,
          })),
          webhookDeliveries: take(
            deliveries.map((d) => ({
              id: encodeId('dlv', d.id),
              endpointId: encodeId('whk', d.endpointId),
              eventId: encodeId('evt', d.eventId),
              state: d.state,
              attemptCount: d.attemptCount,
              createdAt: d.createdAt,
            })),
          ),
          reports: {
            address: reportAddresses[0]?.token ?? null,
            received: take(rawReports.map((r) => ({ ...r, id: encodeId('rpt', r.id) }))),
            aggregate: take(aggregateReports.map(({ tenantId: _, ...r }) => r)),
            aggregateRows: take(aggregateRows.map(({ tenantId: _, ...r }) => r)),
            tls: take(tlsReports.map(({ tenantId: _, ...r }) => r)),
            tlsPolicies: take(tlsPolicies.map(({ tenantId: _, ...r }) => r)),
            failure: take(failureReports.map(({ tenantId: _, ...r }) => r)),
            // The settings and the last poll; never a secret (password, OAuth client secret,
            // refresh token), sealed or not: only whether one is set.
            mailboxes: mailboxes.map(
              ({
                tenantId: _,
                passwordCiphertext,
                oauthClientSecretCiphertext,
                oauthRefreshTokenCiphertext,
                leaseUntil: __,
                ...m
              }) => ({
                ...m,
                id: encodeId('mbx', m.id),
                hasPassword: passwordCiphertext !== null,
                hasClientSecret: oauthClientSecretCiphertext !== null,
                hasRefreshToken: oauthRefreshTokenCiphertext !== null,
              }),
            ),
          },
        };
      });
    },

    /**
     * Deletes the tenant and, by cascade, every row that belongs to it. User accounts are global
     * (a user may belong to other tenants) and stay; their membership here goes.
     */
    async deleteAll(tenantId: string): Promise<void> {
      await withTenant(db, tenantId, (tx) =>
        tx.delete(schema.tenants).where(eq(schema.tenants.id, tenantId)),
      );
    },
  };
}

export type TenantDataService = ReturnType<typeof createTenantDataService>;
