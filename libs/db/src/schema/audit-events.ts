import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id, tenantIsolation } from './columns.ts';
import { tenants } from './tenants.ts';

export const auditActorTypes = ['user', 'api_key', 'anonymous', 'system'] as const;
export type AuditActorType = (typeof auditActorTypes)[number];

/**
 * What happened in a tenant, who did it, from where. Append-only by convention: the app inserts
 * and reads, never updates. Ids are UUIDv7, so `id` order is time order and serves as the cursor.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    action: text('action').notNull(),
    actorType: text('actor_type', { enum: auditActorTypes }).notNull(),
    /** A typed id (`usr_…`, `key_…`), or null for anonymous and system actors. */
    actorId: text('actor_id'),
    targetType: text('target_type'),
    targetId: text('target_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    /** Never secrets: names, roles, scope lists, reasons. */
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('audit_events_tenant_id_idx').on(t.tenantId, t.id), tenantIsolation()],
).enableRLS();

export type AuditEventRow = typeof auditEvents.$inferSelect;
