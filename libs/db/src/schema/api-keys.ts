import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id, tenantIsolation } from './columns.ts';
import { tenants } from './tenants.ts';
import { users } from './users.ts';

export const apiKeyScopes = ['read', 'write', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

/**
 * An integration's key. Only the SHA-256 of its secret is kept; `prefix` (the `mw_…` start of the
 * key) is shown in lists so a person can tell keys apart and match a leaked one.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    secretHash: text('secret_hash').notNull(),
    scopes: text('scopes', { enum: apiKeyScopes }).array().notNull(),
    createdByUserId: uuid('created_by_user_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_keys_tenant_idx').on(t.tenantId, t.createdAt), tenantIsolation()],
).enableRLS();

export type ApiKeyRow = typeof apiKeys.$inferSelect;
