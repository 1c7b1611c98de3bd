import { bigint, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { lifecycleDates } from './columns.ts';
import { users } from './users.ts';

/**
 * A user's TOTP authenticator (RFC 6238). The 20-byte seed is AES-256-GCM ciphertext carrying the
 * id of the key that sealed it, so keys can rotate. `last_used_step` is the time step of the last
 * accepted code: a code is accepted only by the UPDATE that raises it, so a replay never passes.
 */
export const userTotp = pgTable('user_totp', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  secretCiphertext: text('secret_ciphertext').notNull(),
  /** Null while enrolment waits for its first code. */
  confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
  lastUsedStep: bigint('last_used_step', { mode: 'number' }),
  ...lifecycleDates,
});

export type UserTotpRow = typeof userTotp.$inferSelect;
