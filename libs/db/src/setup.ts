import pg from 'pg';

/**
 * Creates, idempotently, what the migrations and the apps need and cannot create themselves:
 *
 * - `mailwarden_app`, a NOLOGIN group role that migrations grant row privileges to;
 * - the owner login role (from the migration URL): owns the database and runs migrations;
 * - the app login role (from DATABASE_URL): member of mailwarden_app, NOSUPERUSER, NOBYPASSRLS,
 *   owns nothing, so row-level security always applies to it;
 * - the database, owned by the owner role.
 *
 * It runs as a Postgres superuser (`DATABASE_ADMIN_URL`), which the apps themselves never use.
 */
export const APP_GROUP_ROLE = 'mailwarden_app';
/**
 * NOLOGIN role whose policies allow the few reads across tenants that the scheduler and the
 * outbox sweeper need (decision 0004). Only the owner is a member: the SECURITY DEFINER functions
 * it owns are the one door, and they return ids, never tenant data.
 */
export const SCHEDULER_GROUP_ROLE = 'mailwarden_scheduler';

export interface SetupTargets {
  adminUrl: string;
  /** The owner role connects with this URL to run migrations. */
  migrationUrl: string;
  /** The apps connect with this URL. */
  appUrl: string;
}

interface RoleSpec {
  name: string;
  password: string | undefined;
}

function roleOf(url: string): RoleSpec & { database: string } {
  const parsed = new URL(url);
  const name = decodeURIComponent(parsed.username);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`the URL for database ${database || '?'} names no user`);
  if (!database) throw new Error(`the URL for role ${name} names no database`);
  return { name, password: parsed.password ? decodeURIComponent(parsed.password) : undefined, database };
}

async function ensureRole(client: pg.Client, role: RoleSpec, attributes: string): Promise<void> {
  const ident = client.escapeIdentifier(role.name);
  const { rowCount } = await client.query('select 1 from pg_roles where rolname = $1', [role.name]);
  if (rowCount === 0) await client.query(`create role ${ident} ${attributes}`);
  else await client.query(`alter role ${ident} ${attributes}`);
  if (role.password !== undefined) {
    await client.query(`alter role ${ident} password ${client.escapeLiteral(role.password)}`);
  }
}

export async function setupDatabase(targets: SetupTargets): Promise<{ database: string; created: boolean }> {
  const owner = roleOf(targets.migrationUrl);
  const app = roleOf(targets.appUrl);
  if (owner.database !== app.database) {
    throw new Error(
      `the migration URL names database ${owner.database} but DATABASE_URL names ${app.database}`,
    );
  }
  if (owner.name === app.name) {
    throw new Error('the app must connect as a role other than the owner, or RLS would not apply to it');
  }
  const admin = new pg.Client({ connectionString: targets.adminUrl });
  await admin.connect();
  try {
    // Two setups at once (parallel test runs) must not race on CREATE ROLE.
    await admin.query("select pg_advisory_lock(hashtext('mailwarden-db-setup'))");
    await ensureRole(admin, { name: APP_GROUP_ROLE, password: undefined }, 'nologin nosuperuser nobypassrls');
    await ensureRole(admin, owner, 'login nosuperuser nobypassrls nocreaterole nocreatedb');
    await ensureRole(admin, app, 'login inherit nosuperuser nobypassrls nocreaterole nocreatedb');
    await admin.query(
      `grant ${admin.escapeIdentifier(APP_GROUP_ROLE)} to ${admin.escapeIdentifier(app.name)}`,
    );
    await ensureRole(
      admin,
      { name: SCHEDULER_GROUP_ROLE, password: undefined },
      'nologin nosuperuser nobypassrls',
    );
    await admin.query(
      `grant ${admin.escapeIdentifier(SCHEDULER_GROUP_ROLE)} to ${admin.escapeIdentifier(owner.name)}`,
    );
    const exists = await admin.query('select 1 from pg_database where datname = $1', [owner.database]);
    let created = false;
    if (exists.rowCount === 0) {
      await admin.query(
        `create database ${admin.escapeIdentifier(owner.database)} owner ${admin.escapeIdentifier(owner.name)} encoding 'UTF8' template template0`,
      );
      created = true;
    }
    await admin.query("select pg_advisory_unlock(hashtext('mailwarden-db-setup'))");
    return { database: owner.database, created };
  } finally {
    await admin.end();
  }
}

/** Drops a database (tests clean up after themselves). Connections to it are terminated first. */
export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${admin.escapeIdentifier(database)} with (force)`);
  } finally {
    await admin.end();
  }
}
