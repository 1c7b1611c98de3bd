import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id, tenantIsolation } from './columns.ts';
import { sessions } from './sessions.ts';
import { tenants } from './tenants.ts';

/**
 * One opaque refresh token of a session, stored as the SHA-256 of its secret. Each use rotates it:
 * `used_at` is set and a successor is issued. Presenting a token whose `used_at` is set means it was
 * copied, so the whole session (the token family) is revoked.
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [index('refresh_tokens_tenant_session_idx').on(t.tenantId, t.sessionId), tenantIsolation()],
).enableRLS();

export type RefreshTokenRow = typeof refreshTokens.$inferSelect;
