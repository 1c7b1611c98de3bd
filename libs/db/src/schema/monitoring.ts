import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
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
import { id, tenantIsolation } from './columns.ts';
import { checkFamilies, severityLevels, tenantDomainKey } from './domains.ts';
import { tenants } from './tenants.ts';

/**
 * What monitoring remembers (DESIGN.md §2.4-2.5): every run, every finding by fingerprint with its
 * life cycle, the posture history, per-check unknown streaks, and the events outbox.
 */

export const runOutcomes = ['ok', 'findings', 'unknown', 'untestable', 'error'] as const;
export type RunOutcome = (typeof runOutcomes)[number];

/**
 * One execution of a check family for one tenant's domain. `slot` is the schedule slot the job was
 * enqueued for; (domain, family, slot) is unique, so a job redone after a worker crash stores its
 * result once.
 */
export const checkRuns = pgTable(
  'check_runs',
  {
    id: id(),
    tenantId: uuid('tenant_id').notNull(),
    domainId: uuid('domain_id').notNull(),
    family: text('family', { enum: checkFamilies }).notNull(),
    slot: timestamp('slot', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    outcome: text('outcome', { enum: runOutcomes }).notNull(),
    /** Per check: status and finding count; the facts of the run, trimmed. */
    summary: jsonb('summary').$type<Record<string, unknown>>().notNull().default({}),
    findingCount: integer('finding_count').notNull().default(0),
    postureScore: smallint('posture_score'),
  },
  (t) => [
    uniqueIndex('check_runs_slot_key').on(t.domainId, t.family, t.slot),
    tenantDomainKey('check_runs_domain_fk', t.tenantId, t.domainId),
    index('check_runs_tenant_domain_idx').on(t.tenantId, t.domainId, t.id),
    tenantIsolation(),
  ],
).enableRLS();

export const findingStates = ['open', 'resolved'] as const;
export type FindingState = (typeof findingStates)[number];

/**
 * A finding of one domain, keyed by fingerprint (code + subject). It is opened, seen again, resolved,
 * and may reopen (the same row: `opened_at` moves, `first_seen_at` stays).
 */
export const findings = pgTable(
  'findings',
  {
    id: id(),
    tenantId: uuid('tenant_id').notNull(),
    domainId: uuid('domain_id').notNull(),
    family: text('family', { enum: checkFamilies }).notNull(),
    check: text('check').notNull(),
    fingerprint: text('fingerprint').notNull(),
    code: text('code').notNull(),
    severity: text('severity', { enum: severityLevels }).notNull(),
    subject: text('subject').notNull(),
    message: text('message').notNull(),
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull().default({}),
    state: text('state', { enum: findingStates }).notNull(),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull(),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    /** Muted: no alerts until then (the finding stays open and visible). */
    mutedUntil: timestamp('muted_until', { withTimezone: true }),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
    /** A typed id of the user or API key that acknowledged it. */
    acknowledgedBy: text('acknowledged_by'),
    /** An acknowledgement lapses then; a finding acknowledged without expiry stays so until resolved. */
    acknowledgedUntil: timestamp('acknowledged_until', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('findings_fingerprint_key').on(t.domainId, t.fingerprint),
    tenantDomainKey('findings_domain_fk', t.tenantId, t.domainId),
    index('findings_tenant_state_idx').on(t.tenantId, t.state, t.domainId),
    index('findings_tenant_id_idx').on(t.tenantId, t.id),
    tenantIsolation(),
  ],
).enableRLS();

/**
 * How many runs in a row a check of a domain could not be reached, with its last status: an
 * unknown result alerts (`check.untestable`) only from the second run in a row. A check that has
 * always answered has no row; one that had a streak keeps its row (streak 0 once it answers).
 */
export const checkStates = pgTable(
  'check_states',
  {
    tenantId: uuid('tenant_id').notNull(),
    domainId: uuid('domain_id').notNull(),
    check: text('check').notNull(),
    status: text('status').notNull(),
    consecutiveUnknown: integer('consecutive_unknown').notNull().default(0),
    /** The streak was reported (`check.untestable`); reset when the check answers again. */
    untestableReported: boolean('untestable_reported').notNull().default(false),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ name: 'check_states_pkey', columns: [t.domainId, t.check] }),
    tenantDomainKey('check_states_domain_fk', t.tenantId, t.domainId),
    tenantIsolation(),
  ],
).enableRLS();

export const postureHistory = pgTable(
  'posture_history',
  {
    tenantId: uuid('tenant_id').notNull(),
    domainId: uuid('domain_id').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull(),
    score: smallint('score').notNull(),
    grade: text('grade').notNull(),
    partial: boolean('partial').notNull().default(false),
    runId: uuid('run_id'),
  },
  (t) => [
    primaryKey({ name: 'posture_history_pkey', columns: [t.domainId, t.recordedAt] }),
    tenantDomainKey('posture_history_domain_fk', t.tenantId, t.domainId),
    index('posture_history_tenant_idx').on(t.tenantId, t.domainId, t.recordedAt),
    check('posture_history_score', sql`${t.score} between 0 and 100`),
    tenantIsolation(),
  ],
).enableRLS();

export const eventTypes = [
  'finding.opened',
  'finding.resolved',
  'posture.degraded',
  'posture.improved',
  'domain.verified',
  'check.untestable',
  'webhook.test',
  'endpoint.disabled',
  'dmarc.unknown_source',
  'tls_rpt.failures',
  'report_mailbox.failing',
  'report_mailbox.recovered',
] as const;
export type EventType = (typeof eventTypes)[number];

/**
 * The outbox and the event history in one table. An event is written in the same transaction as
 * the change it reports, so it is never lost and never sent for a rolled-back change. `suppressed`
 * says why it alerts nobody (below threshold, muted, maintenance window); `dispatched_at` is set
 * once its deliveries exist. Ids are UUIDv7: id order is time order and the cursor.
 */
export const monitoringEvents = pgTable(
  'monitoring_events',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    domainId: uuid('domain_id'),
    type: text('type', { enum: eventTypes }).notNull(),
    severity: text('severity', { enum: severityLevels }),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    suppressed: text('suppressed'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    dispatchedAt: timestamp('dispatched_at', { withTimezone: true }),
  },
  (t) => [
    index('monitoring_events_tenant_id_idx').on(t.tenantId, t.id),
    tenantDomainKey('monitoring_events_domain_fk', t.tenantId, t.domainId),
    index('monitoring_events_undispatched_idx')
      .on(t.occurredAt)
      .where(sql`${t.dispatchedAt} is null and ${t.suppressed} is null`),
    tenantIsolation(),
  ],
).enableRLS();

/** No alerts for the tenant (domain_id null) or one domain between the two times. */
export const maintenanceWindows = pgTable(
  'maintenance_windows',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    domainId: uuid('domain_id'),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    reason: text('reason').notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('maintenance_windows_tenant_idx').on(t.tenantId, t.endsAt),
    tenantDomainKey('maintenance_windows_domain_fk', t.tenantId, t.domainId),
    check('maintenance_windows_order', sql`${t.endsAt} > ${t.startsAt}`),
    tenantIsolation(),
  ],
).enableRLS();

export type CheckRunRow = typeof checkRuns.$inferSelect;
export type FindingRow = typeof findings.$inferSelect;
export type CheckStateRow = typeof checkStates.$inferSelect;
export type MonitoringEventRow = typeof monitoringEvents.$inferSelect;
export type MaintenanceWindowRow = typeof maintenanceWindows.$inferSelect;
