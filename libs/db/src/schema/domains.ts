import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { id, lifecycleDates, tenantIsolation } from './columns.ts';
import { tenants } from './tenants.ts';

/** The finding severities of DESIGN.md §3, lowest first (libs/checks owns their meaning). */
export const severityLevels = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type SeverityLevel = (typeof severityLevels)[number];

/** Opt-ins a domain owner grants for active probes beyond STARTTLS on port 25 (issue 8). */
export interface DomainProbeOptions {
  /** Probe submission, IMAP and POP3 ports of each MX too. */
  otherPorts?: boolean;
  /** Run the open-relay test (stops at RCPT, `example.invalid` recipients only). */
  relayTest?: boolean;
}

/** A domain a tenant watches. The same name may be watched by several tenants, each with its own row. */
export const domains = pgTable(
  'domains',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** Lower-case A-label form without the trailing dot. */
    name: text('name').notNull(),
    /** Published by the owner at `_mailwarden.<name>` TXT to prove control. Not a secret. */
    verificationToken: text('verification_token').notNull(),
    verifiedAt: timestamp('verified_at', { withTimezone: true }),
    /** DKIM selectors the owner declared (reports add the ones they see). */
    dkimSelectors: text('dkim_selectors').array().notNull().default(sql`'{}'::text[]`),
    /** Sending IPs the owner declared: blocklist subjects besides the MX addresses. */
    sendingIps: text('sending_ips').array().notNull().default(sql`'{}'::text[]`),
    /** Lowest severity that alerts for this domain; null: the tenant's threshold. */
    alertThreshold: text('alert_threshold', { enum: severityLevels }),
    probeOptions: jsonb('probe_options').$type<DomainProbeOptions>().notNull().default({}),
    /** Latest posture of the `dns` family run, for lists and dashboards without a join. */
    postureScore: smallint('posture_score'),
    postureGrade: text('posture_grade'),
    lastCheckedAt: timestamp('last_checked_at', { withTimezone: true }),
    /** Deleted domains stop being monitored; their history stays until retention removes it. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    ...lifecycleDates,
  },
  (t) => [
    uniqueIndex('domains_tenant_name_key').on(t.tenantId, t.name).where(sql`${t.deletedAt} is null`),
    index('domains_name_idx').on(t.name),
    // Unique so that rows of other tables can reference (tenant_id, id): see `tenantDomainKey`.
    uniqueIndex('domains_tenant_id_key').on(t.tenantId, t.id),
    check('domains_name_lower', sql`${t.name} = lower(${t.name})`),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * The key from a table's `(tenant_id, domain_id)` to its domain, instead of one key to `tenants`
 * and one to `domains`: a row can only name a domain of its own tenant (isolation in the schema,
 * not only in RLS and code), deleting a tenant still cascades (through its domains), and Postgres
 * checks one key per inserted row instead of two — the monitoring tables take thousands of rows a
 * second during a sweep. A null `domain_id` (a tenant-wide event or window) is not checked
 * (MATCH SIMPLE): such tables keep their own key to `tenants`.
 */
export function tenantDomainKey(name: string, tenantId: AnyPgColumn, domainId: AnyPgColumn) {
  return foreignKey({
    name,
    columns: [tenantId, domainId],
    foreignColumns: [domains.tenantId, domains.id],
  }).onDelete('cascade');
}

/**
 * Check families are scheduled separately: cheap passive DNS checks often, active SMTP probes and
 * blocklist sweeps on their own cadence. `next_run_at` lives in Postgres so the schedule survives
 * Redis being emptied (DESIGN.md §2.3).
 */
export const checkFamilies = ['dns', 'dnssec', 'tls', 'blocklist'] as const;
export type CheckFamily = (typeof checkFamilies)[number];

export const domainSchedules = pgTable(
  'domain_schedules',
  {
    tenantId: uuid('tenant_id').notNull(),
    domainId: uuid('domain_id').notNull(),
    family: text('family', { enum: checkFamilies }).notNull(),
    intervalSeconds: integer('interval_seconds').notNull(),
    nextRunAt: timestamp('next_run_at', { withTimezone: true }).notNull(),
    lastRunAt: timestamp('last_run_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ name: 'domain_schedules_pkey', columns: [t.domainId, t.family] }),
    tenantDomainKey('domain_schedules_domain_fk', t.tenantId, t.domainId),
    index('domain_schedules_tenant_idx').on(t.tenantId, t.domainId),
    index('domain_schedules_due_idx').on(t.nextRunAt),
    check('domain_schedules_interval_min', sql`${t.intervalSeconds} >= 60`),
    tenantIsolation(),
  ],
).enableRLS();

export type DomainRow = typeof domains.$inferSelect;
export type DomainScheduleRow = typeof domainSchedules.$inferSelect;
