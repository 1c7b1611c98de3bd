import { boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { id, tenantIsolation } from './columns.ts';
import { monitoringEvents } from './monitoring.ts';
import { tenants } from './tenants.ts';

export const endpointFormats = ['standard', 'slack', 'email'] as const;
export type EndpointFormat = (typeof endpointFormats)[number];

/**
 * Where a tenant's events go. The target (a URL — Slack's carry their token in the path — or an
 * e-mail address) and the signing secret are encrypted at rest (AES-256-GCM with a key id, the same
 * envelope as TOTP secrets); `display_target` is what lists show (scheme and host, or the address).
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    format: text('format', { enum: endpointFormats }).notNull(),
    targetCiphertext: text('target_ciphertext').notNull(),
    displayTarget: text('display_target').notNull(),
    secretCiphertext: text('secret_ciphertext'),
    /** Event types delivered; empty: all. */
    events: text('events').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** E-mail only: one digest a day instead of a mail per event. */
    dailyDigest: boolean('daily_digest').notNull().default(false),
    description: text('description').notNull().default(''),
    disabledReason: text('disabled_reason'),
    /** Start of the current run of failed deliveries; null when the last one succeeded. */
    failingSince: timestamp('failing_since', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('webhook_endpoints_tenant_idx').on(t.tenantId, t.id), tenantIsolation()],
).enableRLS();

export const deliveryStates = ['pending', 'succeeded', 'failed', 'abandoned'] as const;
export type DeliveryState = (typeof deliveryStates)[number];

/** One event to one endpoint; attempts are logged in webhook_attempts. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id')
      .notNull()
      .references(() => monitoringEvents.id, { onDelete: 'cascade' }),
    state: text('state', { enum: deliveryStates }).notNull().default('pending'),
    attemptCount: integer('attempt_count').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_event_key').on(t.endpointId, t.eventId),
    index('webhook_deliveries_tenant_idx').on(t.tenantId, t.id),
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt),
    tenantIsolation(),
  ],
).enableRLS();

export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    /** A stable error code (`timeout`, `redirect`, `ssrf_refused`, `connection_refused`, …) or null. */
    error: text('error'),
    responseExcerpt: text('response_excerpt'),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.tenantId, t.deliveryId, t.id), tenantIsolation()],
).enableRLS();

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
