import { uuidv7 } from '@mailwarden/core';
import { createDatabase, createPool, type Database, schema, withTenant } from '@mailwarden/db';
import type pg from 'pg';
import { inject } from 'vitest';

/** A pool and Drizzle handle on the run's test database, connected as the app role. */
export function openTestDatabase(): { pool: pg.Pool; db: Database; url: string } {
  const url = inject('databaseUrl');
  const pool = createPool(url, { max: 4, applicationName: 'mailwarden-test' });
  return { pool, db: createDatabase(pool), url };
}

/** A fresh tenant of its own for one test, created the way the product creates one. */
export async function createTestTenant(
  db: Database,
  name = 'Test tenant',
): Promise<{ id: string; name: string }> {
  const id = uuidv7();
  await withTenant(db, id, async (tx) => {
    await tx.insert(schema.tenants).values({ id, name });
  });
  return { id, name };
}
