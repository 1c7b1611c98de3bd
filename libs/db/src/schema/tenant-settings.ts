import { sql } from 'drizzle-orm';
import { boolean, check, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenantIsolation } from './columns.ts';
import { severityLevels } from './domains.ts';
import { tenants } from './tenants.ts';

export const passwordCharacterClasses = ['lower', 'upper', 'digit', 'symbol'] as const;
export type PasswordCharacterClass = (typeof passwordCharacterClasses)[number];

/**
 * A tenant's security settings: whether members must use 2FA, and a password policy stricter than
 * the NIST SP 800-63B-4 baseline every password meets anyway. A missing row means the defaults.
 */
export const tenantSettings = pgTable(
  'tenant_settings',
  {
    tenantId: uuid('tenant_id')
      .primaryKey()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    requireMfa: boolean('require_mfa').notNull().default(false),
    passwordMinLength: integer('password_min_length').notNull().default(15),
    passwordRequiredClasses: text('password_required_classes', { enum: passwordCharacterClasses })
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** 0: passwords never expire (the NIST default: no periodic change). */
    passwordMaxAgeDays: integer('password_max_age_days').notNull().default(0),
    /** 0: reuse allowed; N: the last N passwords are refused. */
    passwordHistoryCount: integer('password_history_count').notNull().default(0),
    /** Lowest finding severity that alerts (a domain may override it). */
    alertThreshold: text('alert_threshold', { enum: severityLevels }).notNull().default('medium'),
    /** Runs, resolved findings, events and deliveries older than this are purged. */
    retentionDays: integer('retention_days').notNull().default(365),
    /**
     * Store DMARC failure (ARF) reports: they hold a redacted copy of someone's message headers,
     * so they are kept only when the tenant opts in, and only for a short time.
     */
    storeFailureReports: boolean('store_failure_reports').notNull().default(false),
    failureReportRetentionDays: integer('failure_report_retention_days').notNull().default(30),
    /** How many domains the tenant may watch at once. */
    maxDomains: integer('max_domains').notNull().default(500),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('tenant_settings_min_length', sql`${t.passwordMinLength} between 15 and 128`),
    check('tenant_settings_max_age', sql`${t.passwordMaxAgeDays} between 0 and 3650`),
    check('tenant_settings_history', sql`${t.passwordHistoryCount} between 0 and 24`),
    check('tenant_settings_retention', sql`${t.retentionDays} between 7 and 3650`),
    check('tenant_settings_failure_retention', sql`${t.failureReportRetentionDays} between 1 and 90`),
    check('tenant_settings_max_domains', sql`${t.maxDomains} between 0 and 100000`),
    tenantIsolation(),
  ],
).enableRLS();

export type TenantSettingsRow = typeof tenantSettings.$inferSelect;
