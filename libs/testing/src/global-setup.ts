/**
 * vitest globalSetup: one fresh, migrated database per test run, dropped at the end. Test files
 * share it and isolate themselves by creating their own tenants (and their own queue prefixes),
 * so files run in parallel and nothing depends on what an earlier run left behind.
 */
import { randomBytes } from 'node:crypto';
import { runMigrations, setupDatabase } from '@mailwarden/db';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PREFIX = 'mw_test_';
/** Databases left by runs that were killed are dropped once they are this old. */
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    migrationDatabaseUrl: string;
    adminDatabaseUrl: string;
  }
}

function withDatabase(url: string, role: string, database: string): string {
  const parsed = new URL(url);
  parsed.username = role;
  parsed.password = '';
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function dropStale(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(
    'select datname from pg_database where datname like $1',
    [`${PREFIX}%`],
  );
  for (const { datname } of rows) {
    const startedMs = Number.parseInt(datname.slice(PREFIX.length).split('_')[0] ?? '', 36);
    if (Number.isFinite(startedMs) && Date.now() - startedMs > STALE_AFTER_MS) {
      await admin.query(`drop database if exists ${admin.escapeIdentifier(datname)} with (force)`);
    }
  }
}

export default async function setup(project: TestProject) {
  const database = `${PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const migrationDatabaseUrl = withDatabase(ADMIN_URL, 'mailwarden_test_owner', database);
  const databaseUrl = withDatabase(ADMIN_URL, 'mailwarden_test_app', database);

  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await dropStale(admin);
  } finally {
    await admin.end();
  }
  await setupDatabase({ adminUrl: ADMIN_URL, migrationUrl: migrationDatabaseUrl, appUrl: databaseUrl });
  await runMigrations(migrationDatabaseUrl);

  project.provide('databaseUrl', databaseUrl);
  project.provide('migrationDatabaseUrl', migrationDatabaseUrl);
  project.provide('adminDatabaseUrl', ADMIN_URL);

  return async () => {
    const client = new pg.Client({ connectionString: ADMIN_URL });
    await client.connect();
    try {
      await client.query(`drop database if exists ${client.escapeIdentifier(database)} with (force)`);
    } finally {
      await client.end();
    }
  };
}
