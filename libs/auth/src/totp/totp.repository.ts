import { type Database, schema } from '@mailwarden/db';
import { and, eq, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import type { Executor } from '../shared.ts';

/** A user's authenticator and recovery codes (global, like the user). */
export function createTotpRepository(_db: Database) {
  const t = schema.userTotp;
  const rc = schema.recoveryCodes;
  const stepIsNew = (step: number) => or(isNull(t.lastUsedStep), lt(t.lastUsedStep, step));
  return {
    async find(ex: Executor, userId: string) {
      const [row] = await ex.select().from(t).where(eq(t.userId, userId));
      return row;
    },
    async savePending(ex: Executor, userId: string, secretCiphertext: string) {
      await ex
        .insert(t)
        .values({ userId, secretCiphertext })
        .onConflictDoUpdate({
          target: t.userId,
          set: { secretCiphertext, lastUsedStep: null, updatedAt: sql`now()` },
          // Never overwrite a confirmed authenticator: only a pending enrolment may be restarted.
          setWhere: isNull(t.confirmedAt),
        });
    },
    /**
     * Records `step` as used, in the one statement that also checks it is newer than the last
     * accepted one. Two requests racing with the same code: exactly one UPDATE matches.
     */
    async claimStep(ex: Executor, userId: string, step: number, confirm: boolean, at: Date) {
      const rows = await ex
        .update(t)
        .set({ lastUsedStep: step, updatedAt: at, ...(confirm ? { confirmedAt: at } : {}) })
        .where(
          and(
            eq(t.userId, userId),
            confirm ? isNull(t.confirmedAt) : isNotNull(t.confirmedAt),
            stepIsNew(step),
          ),
        )
        .returning({ userId: t.userId });
      return rows.length === 1;
    },
    async reseal(ex: Executor, userId: string, secretCiphertext: string) {
      await ex.update(t).set({ secretCiphertext }).where(eq(t.userId, userId));
    },
    async remove(ex: Executor, userId: string) {
      await ex.delete(rc).where(eq(rc.userId, userId));
      await ex.delete(t).where(eq(t.userId, userId));
    },
    async replaceRecoveryCodes(ex: Executor, userId: string, rows: { id: string; codeHash: string }[]) {
      await ex.delete(rc).where(eq(rc.userId, userId));
      await ex.insert(rc).values(rows.map((r) => ({ ...r, userId })));
    },
    /** Marks a code used in the statement that finds it, so a code works exactly once. */
    async consumeRecoveryCode(ex: Executor, userId: string, codeHash: string, at: Date) {
      const rows = await ex
        .update(rc)
        .set({ usedAt: at })
        .where(and(eq(rc.userId, userId), eq(rc.codeHash, codeHash), isNull(rc.usedAt)))
        .returning({ id: rc.id });
      return rows.length === 1;
    },
    async unusedRecoveryCodes(ex: Executor, userId: string) {
      const [row] = await ex
        .select({ count: sql<number>`count(*)::int` })
        .from(rc)
        .where(and(eq(rc.userId, userId), isNull(rc.usedAt)));
      return row?.count ?? 0;
    },
  };
}

export type TotpRepository = ReturnType<typeof createTotpRepository>;
