import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id, tenantIsolation } from './columns.ts';
import { roles } from './memberships.ts';
import { tenants } from './tenants.ts';
import { users } from './users.ts';

/** An e-mailed invitation to join a tenant with a role; its single-use token is stored hashed. */
export const invitations = pgTable(
  'invitations',
  {
    id: id(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role', { enum: roles }).notNull(),
    tokenHash: text('token_hash').notNull(),
    invitedByUserId: uuid('invited_by_user_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('invitations_tenant_idx').on(t.tenantId, t.createdAt), tenantIsolation()],
).enableRLS();

export type InvitationRow = typeof invitations.$inferSelect;
