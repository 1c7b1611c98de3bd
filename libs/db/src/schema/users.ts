import { sql } from 'drizzle-orm';
import { pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { id, lifecycleDates } from './columns.ts';

/**
 * A person. Users are global identities: one person may belong to several tenants (MSP partners)
 * through memberships, so this table has no tenant_id and no tenant policy. What a user may see of
 * a tenant is decided by `memberships`, which is tenant-scoped.
 */
export const users = pgTable(
  'users',
  {
    id: id(),
    /** Stored as given; uniqueness is on the lower-cased form. */
    email: text('email').notNull(),
    displayName: text('display_name'),
    ...lifecycleDates,
  },
  (t) => [uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`)],
);

export type UserRow = typeof users.$inferSelect;
