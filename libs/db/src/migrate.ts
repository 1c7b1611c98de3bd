import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

export const migrationsFolder = join(dirname(fileURLToPath(import.meta.url)), '../../../migrations');

/**
 * Applies the pending migrations in migrations/ as the owner role. Migrations are append-only and
 * each runs in a transaction; an advisory lock keeps two starting deployments from racing.
 */
export async function runMigrations(migrationUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: migrationUrl, application_name: 'mailwarden-migrate' });
  await client.connect();
  try {
    await client.query("select pg_advisory_lock(hashtext('mailwarden-migrate'))");
    await migrate(drizzle(client), { migrationsFolder, migrationsSchema: 'drizzle' });
  } finally {
    await client.end();
  }
}
