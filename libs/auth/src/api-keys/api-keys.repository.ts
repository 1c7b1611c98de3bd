import { type Database, schema } from '@mailwarden/db';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { ApiKeyScope } from '../db-types.ts';
import type { Executor } from '../shared.ts';

export function createApiKeysRepository(_db: Database) {
  const k = schema.apiKeys;
  return {
    async insert(
      ex: Executor,
      row: {
        id: string;
        tenantId: string;
        name: string;
        prefix: string;
        secretHash: string;
        scopes: ApiKeyScope[];
        expiresAt: Date | null;
        createdByUserId: string | null;
      },
    ) {
      const [created] = await ex.insert(k).values(row).returning();
      return created!;
    },
    list(ex: Executor, tenantId: string) {
      return ex.select().from(k).where(eq(k.tenantId, tenantId)).orderBy(desc(k.createdAt), desc(k.id));
    },
    async find(ex: Executor, tenantId: string, keyId: string) {
      const [row] = await ex
        .select()
        .from(k)
        .where(and(eq(k.tenantId, tenantId), eq(k.id, keyId)));
      return row;
    },
    async rename(ex: Executor, tenantId: string, keyId: string, name: string) {
      const [row] = await ex
        .update(k)
        .set({ name })
        .where(and(eq(k.tenantId, tenantId), eq(k.id, keyId)))
        .returning();
      return row;
    },
    async revoke(ex: Executor, tenantId: string, keyId: string, at: Date) {
      const [row] = await ex
        .update(k)
        .set({ revokedAt: at })
        .where(and(eq(k.tenantId, tenantId), eq(k.id, keyId), isNull(k.revokedAt)))
        .returning();
      return row;
    },
    async touch(ex: Executor, tenantId: string, keyId: string, at: Date) {
      await ex
        .update(k)
        .set({ lastUsedAt: at })
        .where(and(eq(k.tenantId, tenantId), eq(k.id, keyId)));
    },
  };
}

export type ApiKeysRepository = ReturnType<typeof createApiKeysRepository>;
