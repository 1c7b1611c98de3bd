import { type Database, schema } from '@mailwarden/db';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Role } from '../db-types.ts';
import type { Executor } from '../shared.ts';

/** Memberships of one tenant, with the member's profile. Every method is scoped by tenant. */
export function createMembersRepository(_db: Database) {
  const m = schema.memberships;
  const u = schema.users;
  const columns = {
    id: m.id,
    userId: m.userId,
    role: m.role,
    createdAt: m.createdAt,
    email: u.email,
    displayName: u.displayName,
  };
  return {
    list(ex: Executor, tenantId: string) {
      return ex
        .select(columns)
        .from(m)
        .innerJoin(u, eq(u.id, m.userId))
        .where(eq(m.tenantId, tenantId))
        .orderBy(asc(m.createdAt), asc(m.id));
    },
    async find(ex: Executor, tenantId: string, membershipId: string) {
      const [row] = await ex
        .select(columns)
        .from(m)
        .innerJoin(u, eq(u.id, m.userId))
        .where(and(eq(m.tenantId, tenantId), eq(m.id, membershipId)));
      return row;
    },
    async findByUser(ex: Executor, tenantId: string, userId: string) {
      const [row] = await ex
        .select(columns)
        .from(m)
        .innerJoin(u, eq(u.id, m.userId))
        .where(and(eq(m.tenantId, tenantId), eq(m.userId, userId)));
      return row;
    },
    /** Profiles of the given users, but only those who are members of this tenant (loaders). */
    usersInTenant(ex: Executor, tenantId: string, userIds: string[]) {
      if (userIds.length === 0) return Promise.resolve([]);
      return ex
        .select(columns)
        .from(m)
        .innerJoin(u, eq(u.id, m.userId))
        .where(and(eq(m.tenantId, tenantId), inArray(m.userId, userIds)));
    },
    async insert(ex: Executor, row: { id: string; tenantId: string; userId: string; role: Role }) {
      await ex.insert(m).values(row);
    },
    async updateRole(ex: Executor, tenantId: string, membershipId: string, role: Role) {
      await ex
        .update(m)
        .set({ role, updatedAt: sql`now()` })
        .where(and(eq(m.tenantId, tenantId), eq(m.id, membershipId)));
    },
    async remove(ex: Executor, tenantId: string, membershipId: string) {
      await ex.delete(m).where(and(eq(m.tenantId, tenantId), eq(m.id, membershipId)));
    },
    /** Counted under a lock on the owners' rows, so two admins demoting the last two owners at once cannot both succeed. */
    async lockOwners(ex: Executor, tenantId: string) {
      const rows = await ex
        .select({ id: m.id })
        .from(m)
        .where(and(eq(m.tenantId, tenantId), eq(m.role, 'owner')))
        .for('update');
      return rows.map((r) => r.id);
    },
  };
}

export type MembersRepository = ReturnType<typeof createMembersRepository>;
