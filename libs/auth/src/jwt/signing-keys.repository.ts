import { type Database, schema } from '@mailwarden/db';
import { and, eq, lt, sql } from 'drizzle-orm';

/**
 * JWT signing keys are the API's own, not a tenant's: a global table, read and rotated here only.
 * Each key set (`access` in production) rotates on its own; tests use sets of their own.
 */
export function createSigningKeysRepository(db: Database, keyset: string) {
  const k = schema.signingKeys;
  const ofSet = eq(k.keyset, keyset);
  return {
    keyset,
    list() {
      return db.select().from(k).where(ofSet).orderBy(k.activatesAt);
    },
    /**
     * Runs `fn` holding a transaction-scoped advisory lock, so two instances starting together do
     * not both create a key. `fn` re-reads the keys inside the lock before deciding anything.
     */
    withRotationLock<T>(fn: (repo: RotationTx) => Promise<T>): Promise<T> {
      return db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`mailwarden-signing-keys:${keyset}`}))`);
        return fn({
          list: () => tx.select().from(k).where(ofSet).orderBy(k.activatesAt),
          insert: async (row) => {
            await tx.insert(k).values({ ...row, keyset });
          },
          setRetiresAt: async (kid, at) => {
            await tx
              .update(k)
              .set({ retiresAt: at })
              .where(and(ofSet, eq(k.kid, kid)));
          },
          deleteRetiredBefore: async (at) => {
            await tx.delete(k).where(and(ofSet, lt(k.retiresAt, at)));
          },
        });
      });
    },
  };
}

export interface RotationTx {
  list(): Promise<(typeof schema.signingKeys.$inferSelect)[]>;
  insert(row: Omit<typeof schema.signingKeys.$inferInsert, 'keyset'>): Promise<void>;
  setRetiresAt(kid: string, at: Date): Promise<void>;
  deleteRetiredBefore(at: Date): Promise<void>;
}

export type SigningKeysRepository = ReturnType<typeof createSigningKeysRepository>;
