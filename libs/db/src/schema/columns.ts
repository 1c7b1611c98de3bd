import { sql } from 'drizzle-orm';
import { pgPolicy, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Column mixins and the tenant policy shared by every table.
 *
 * Every table that holds tenant data has a NOT NULL `tenant_id` leading its indexes, RLS enabled
 * and forced (FORCE is added in SQL: drizzle-kit does not emit it), and the `tenant_isolation`
 * policy below. `test/rls-catalogue.test.ts` reads the Postgres catalogue and fails when a table
 * with a `tenant_id` lacks any of it.
 */

/** The tenant of the current transaction, or NULL (no rows) when none was set. */
export const currentTenant = sql`nullif(current_setting('app.tenant_id', true), '')::uuid`;

export function tenantIsolation(column = 'tenant_id') {
  const predicate = sql`${sql.identifier(column)} = ${currentTenant}`;
  return pgPolicy('tenant_isolation', {
    as: 'permissive',
    for: 'all',
    using: predicate,
    withCheck: predicate,
  });
}

export const id = () => uuid('id').primaryKey();

export const lifecycleDates = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
};
