import { sql } from 'drizzle-orm';
import { pgPolicy, pgTable, text } from 'drizzle-orm/pg-core';
import { currentTenant, id, lifecycleDates } from './columns.ts';

/** A customer organisation. Its own row is visible only inside its tenant transaction. */
export const tenants = pgTable(
  'tenants',
  {
    id: id(),
    name: text('name').notNull(),
    ...lifecycleDates,
  },
  () => [
    pgPolicy('tenant_isolation', {
      as: 'permissive',
      for: 'all',
      using: sql`id = ${currentTenant}`,
      withCheck: sql`id = ${currentTenant}`,
    }),
  ],
).enableRLS();

export type TenantRow = typeof tenants.$inferSelect;
