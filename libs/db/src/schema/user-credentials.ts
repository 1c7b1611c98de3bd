import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { lifecycleDates } from './columns.ts';
import { users } from './users.ts';

/**
 * A user's password, apart from the profile in `users` so that a query for names and e-mail
 * addresses never carries a hash along. Global like `users`: one person has one password whatever
 * tenants they belong to. The hash is an argon2id PHC string (its parameters travel inside it).
 */
export const userCredentials = pgTable('user_credentials', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  passwordHash: text('password_hash').notNull(),
  /** Drives the tenant policy's maximum password age. */
  passwordChangedAt: timestamp('password_changed_at', { withTimezone: true }).notNull().defaultNow(),
  ...lifecycleDates,
});

export type UserCredentialRow = typeof userCredentials.$inferSelect;
