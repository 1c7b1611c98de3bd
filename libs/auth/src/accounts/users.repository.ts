import { type Database, schema } from '@mailwarden/db';
import { desc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../shared.ts';

/**
 * Users, their credentials and password history: global tables (a person is one identity across
 * tenants), so these methods take a user id or an e-mail address rather than a tenant id.
 */
export function createUsersRepository(db: Database) {
  return {
    async findByEmail(email: string) {
      const [row] = await db
        .select({
          id: schema.users.id,
          email: schema.users.email,
          displayName: schema.users.displayName,
          passwordHash: schema.userCredentials.passwordHash,
          passwordChangedAt: schema.userCredentials.passwordChangedAt,
        })
        .from(schema.users)
        .leftJoin(schema.userCredentials, eq(schema.userCredentials.userId, schema.users.id))
        .where(sql`lower(${schema.users.email}) = lower(${email})`)
        .limit(1);
      return row;
    },
    async findById(ex: Executor, userId: string) {
      const [row] = await ex
        .select({
          id: schema.users.id,
          email: schema.users.email,
          displayName: schema.users.displayName,
          passwordHash: schema.userCredentials.passwordHash,
          passwordChangedAt: schema.userCredentials.passwordChangedAt,
        })
        .from(schema.users)
        .leftJoin(schema.userCredentials, eq(schema.userCredentials.userId, schema.users.id))
        .where(eq(schema.users.id, userId))
        .limit(1);
      return row;
    },
    async insert(
      ex: Executor,
      user: { id: string; email: string; displayName: string | null; passwordHash: string },
    ) {
      await ex.insert(schema.users).values({ id: user.id, email: user.email, displayName: user.displayName });
      await ex.insert(schema.userCredentials).values({ userId: user.id, passwordHash: user.passwordHash });
    },
    async setPasswordHash(ex: Executor, userId: string, passwordHash: string, changedAt?: Date) {
      await ex
        .update(schema.userCredentials)
        .set({ passwordHash, updatedAt: sql`now()`, ...(changedAt ? { passwordChangedAt: changedAt } : {}) })
        .where(eq(schema.userCredentials.userId, userId));
    },
    /** Newest first. */
    recentPasswordHashes(ex: Executor, userId: string, count: number) {
      return ex
        .select({ id: schema.passwordHistory.id, passwordHash: schema.passwordHistory.passwordHash })
        .from(schema.passwordHistory)
        .where(eq(schema.passwordHistory.userId, userId))
        .orderBy(desc(schema.passwordHistory.createdAt))
        .limit(count);
    },
    async addPasswordHistory(
      ex: Executor,
      entry: { id: string; userId: string; passwordHash: string },
      keep: number,
    ) {
      await ex.insert(schema.passwordHistory).values(entry);
      // Hashes beyond the longest history any policy may ask for are of no use; drop them.
      const history = schema.passwordHistory;
      await ex.execute(sql`
        delete from ${history} where ${history.userId} = ${entry.userId} and ${history.id} not in (
          select ${history.id} from ${history} where ${history.userId} = ${entry.userId}
           order by ${history.createdAt} desc limit ${keep})`);
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
