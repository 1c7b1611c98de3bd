import { type Database, schema } from '@mailwarden/db';
import { and, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../shared.ts';

/** Password reset tokens (global: a password belongs to the user, not to a tenant). */
export function createResetTokensRepository(_db: Database) {
  const r = schema.passwordResetTokens;
  return {
    async insert(ex: Executor, row: { id: string; userId: string; tokenHash: string; expiresAt: Date }) {
      await ex.insert(r).values(row);
    },
    async find(ex: Executor, id: string, lock = false) {
      const query = ex.select().from(r).where(eq(r.id, id));
      const [row] = lock ? await query.for('update') : await query;
      return row;
    },
    /** Marks used every open token of the user: one reset spends them all. */
    async useAllForUser(ex: Executor, userId: string, at: Date) {
      await ex
        .update(r)
        .set({ usedAt: at })
        .where(and(eq(r.userId, userId), isNull(r.usedAt)));
    },
  };
}

export type ResetTokensRepository = ReturnType<typeof createResetTokensRepository>;
