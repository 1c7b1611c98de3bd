import { type Database, schema } from '@mailwarden/db';
import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../shared.ts';

export function createTenantSettingsRepository(_db: Database) {
  const ts = schema.tenantSettings;
  return {
    async find(ex: Executor, tenantId: string) {
      const [row] = await ex.select().from(ts).where(eq(ts.tenantId, tenantId));
      return row;
    },
    async findTenant(ex: Executor, tenantId: string) {
      const [row] = await ex.select().from(schema.tenants).where(eq(schema.tenants.id, tenantId));
      return row;
    },
    async insertTenant(ex: Executor, tenant: { id: string; name: string }) {
      await ex.insert(schema.tenants).values(tenant);
    },
    async upsert(ex: Executor, tenantId: string, patch: Partial<Omit<typeof ts.$inferInsert, 'tenantId'>>) {
      const [row] = await ex
        .insert(ts)
        .values({ tenantId, ...patch })
        .onConflictDoUpdate({ target: ts.tenantId, set: { ...patch, updatedAt: sql`now()` } })
        .returning();
      return row!;
    },
  };
}

export type TenantSettingsRepository = ReturnType<typeof createTenantSettingsRepository>;
