import { boolean, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id, tenantIsolation } from './columns.ts';
import { tenants } from './tenants.ts';
import { users } from './users.ts';

/**
 * A signed-in user in one tenant: the family of its refresh tokens, and what every access token
 * minted from it is checked against on each request. Revoking it ends the family at once.
 */
export const sessions = pgTable(
  'sessions',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** A second factor was presented (or enrolled) in this session. */
    mfaVerified: boolean('mfa_verified').notNull().default(false),
    /** The password had expired at sign-in: only changing it is allowed until it is changed. */
    passwordChangeRequired: boolean('password_change_required').notNull().default(false),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    /** Absolute end: refresh tokens stop working then, however often they are rotated. */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason'),
  },
  (t) => [index('sessions_tenant_user_idx').on(t.tenantId, t.userId), tenantIsolation()],
).enableRLS();

export type SessionRow = typeof sessions.$inferSelect;
