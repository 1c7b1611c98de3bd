/**
 * A tenant's monitoring settings (issue 5 §3-4, issue 6 §2): the alert threshold every domain
 * inherits, how long history is kept, the domain quota (read only: an operator's), and the
 * failure-report opt-in with its short retention. They live in `tenant_settings`; a missing row
 * means the defaults below, which are the column defaults.
 */
import { AppError } from '@mailwarden/core';
import { type Database, type SeverityLevel, schema, withTenant } from '@mailwarden/db';
import { sql } from 'drizzle-orm';

export const retentionDaysRange = { min: 7, max: 3650 } as const;
export const failureReportRetentionDaysRange = { min: 1, max: 90 } as const;

export interface MonitoringSettings {
  alertThreshold: SeverityLevel;
  retentionDays: number;
  maxDomains: number;
  failureReports: { store: boolean; retentionDays: number };
}

export interface MonitoringSettingsPatch {
  alertThreshold?: SeverityLevel;
  retentionDays?: number;
  failureReports?: { store?: boolean; retentionDays?: number };
}

export interface MonitoringSettingsChange {
  before: MonitoringSettings;
  after: MonitoringSettings;
  /** Failure reports deleted because the tenant switched the opt-in off. */
  failureReportsDeleted: number;
}

type SettingsRow = typeof schema.tenantSettings.$inferSelect;

function settingsOf(row: SettingsRow | undefined): MonitoringSettings {
  return {
    alertThreshold: row?.alertThreshold ?? 'medium',
    retentionDays: row?.retentionDays ?? 365,
    maxDomains: row?.maxDomains ?? 500,
    failureReports: {
      store: row?.storeFailureReports ?? false,
      retentionDays: row?.failureReportRetentionDays ?? 30,
    },
  };
}

function checkRange(location: string, value: number | undefined, range: { min: number; max: number }) {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    const message = `must be a whole number of days from ${range.min} to ${range.max}`;
    throw new AppError('validation_failed', {
      detail: `${location} ${message}`,
      errors: [{ location, message }],
    });
  }
}

export function createMonitoringSettingsService(deps: { db: Database }) {
  const { db } = deps;
  const { tenantSettings, failureReports } = schema;
  return {
    async get(tenantId: string): Promise<MonitoringSettings> {
      const [row] = await withTenant(db, tenantId, (tx) => tx.select().from(tenantSettings));
      return settingsOf(row);
    },

    /**
     * Fields left out stay as they are. Switching failure reports off deletes the stored ones at
     * once: the tenant withdrew its wish to hold that personal data.
     */
    async update(tenantId: string, patch: MonitoringSettingsPatch): Promise<MonitoringSettingsChange> {
      checkRange('body.retentionDays', patch.retentionDays, retentionDaysRange);
      checkRange(
        'body.failureReports.retentionDays',
        patch.failureReports?.retentionDays,
        failureReportRetentionDaysRange,
      );
      return withTenant(db, tenantId, async (tx) => {
        const [current] = await tx.select().from(tenantSettings).for('update');
        const before = settingsOf(current);
        const set = {
          ...(patch.alertThreshold !== undefined ? { alertThreshold: patch.alertThreshold } : {}),
          ...(patch.retentionDays !== undefined ? { retentionDays: patch.retentionDays } : {}),
          ...(patch.failureReports?.store !== undefined
            ? { storeFailureReports: patch.failureReports.store }
            : {}),
          ...(patch.failureReports?.retentionDays !== undefined
            ? { failureReportRetentionDays: patch.failureReports.retentionDays }
            : {}),
        };
        const [row] = await tx
          .insert(tenantSettings)
          .values({ tenantId, ...set })
          .onConflictDoUpdate({ target: tenantSettings.tenantId, set: { ...set, updatedAt: sql`now()` } })
          .returning();
        const after = settingsOf(row);
        let failureReportsDeleted = 0;
        if (before.failureReports.store && !after.failureReports.store) {
          // RLS limits the delete to this tenant's rows.
          const deleted = await tx.execute<{ n: number }>(
            sql`with d as (delete from ${failureReports} returning 1) select count(*)::int as n from d`,
          );
          failureReportsDeleted = deleted.rows[0]?.n ?? 0;
        }
        return { before, after, failureReportsDeleted };
      });
    },
  };
}

export type MonitoringSettingsService = ReturnType<typeof createMonitoringSettingsService>;
