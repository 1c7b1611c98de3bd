import { type Database, schema } from '@mailwarden/db';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Role } from '../db-types.ts';
import type { Executor } from '../shared.ts';

export function createInvitationsRepository(_db: Database) {
  const i = schema.invitations;
  return {
    async insert(
      ex: Executor,
      row: {
        id: string;
        tenantId: string;
        email: string;
        role: Role;
        tokenHash: string;
        invitedByUserId: string | null;
        expiresAt: Date;
      },
    ) {
      const [created] = await ex.insert(i).values(row).returning();
      return created!;
    },
    list(ex: Executor, tenantId: string) {
      return ex.select().from(i).where(eq(i.tenantId, tenantId)).orderBy(desc(i.createdAt), desc(i.id));
    },
    async find(ex: Executor, tenantId: string, id: string, lock = false) {
      const query = ex
        .select()
        .from(i)
        .where(and(eq(i.tenantId, tenantId), eq(i.id, id)));
      const [row] = lock ? await query.for('update') : await query;
      return row;
    },
    async revoke(ex: Executor, tenantId: string, id: string, at: Date) {
      const [row] = await ex
        .update(i)
        .set({ revokedAt: at })
        .where(and(eq(i.tenantId, tenantId), eq(i.id, id), isNull(i.revokedAt), isNull(i.acceptedAt)))
        .returning();
      return row;
    },
    async markAccepted(ex: Executor, tenantId: string, id: string, at: Date) {
      await ex
        .update(i)
        .set({ acceptedAt: at })
        .where(and(eq(i.tenantId, tenantId), eq(i.id, id)));
    },
  };
}

export type InvitationsRepository = ReturnType<typeof createInvitationsRepository>;
