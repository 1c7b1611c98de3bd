/**
 * `npm run migrate`: creates roles and the database when a superuser URL is at hand, then applies
 * migrations as the owner. Variables: DATABASE_URL (app role), MIGRATION_DATABASE_URL (owner role),
 * DATABASE_ADMIN_URL (a superuser; optional — without it roles and database must already exist).
 */
import { parseDeploymentMode } from '@mailwarden/core';
import { loadDatabaseConfig } from './database-config.ts';
import { runMigrations } from './migrate.ts';
import { setupDatabase } from './setup.ts';

try {
  const config = loadDatabaseConfig(process.env, parseDeploymentMode(process.env.MAILWARDEN_ENV));
  if (config.DATABASE_ADMIN_URL) {
    const { database, created } = await setupDatabase({
      adminUrl: config.DATABASE_ADMIN_URL,
      migrationUrl: config.MIGRATION_DATABASE_URL,
      appUrl: config.DATABASE_URL,
    });
    console.log(`database ${database} ${created ? 'created' : 'present'}; roles in place`);
  }
  await runMigrations(config.MIGRATION_DATABASE_URL);
  console.log('migrations applied');
} catch (err) {
  console.error(`migrate failed: ${(err as Error).message}`);
  process.exit(1);
}
