import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { NodePgSession, NodePgTransaction } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type * as schema from './schema/index.ts';

export type Database = NodePgDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];
/** The driver's client inside `withTenantClient`: the tenant's transaction is open on it. */
export type TenantClient = pg.PoolClient;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What drizzle's node-postgres session keeps, read to bind a transaction to a client we opened. */
interface SessionParts {
  client: unknown;
  dialect: ConstructorParameters<typeof NodePgSession>[1];
  schema: ConstructorParameters<typeof NodePgSession>[2];
  options: ConstructorParameters<typeof NodePgSession>[3];
}

/** The session's parts when it runs on a pool (drizzle's own test for a pool, duck-typed as it is). */
function sessionOf(db: Database): SessionParts | undefined {
  const session = db._.session as unknown as Partial<SessionParts>;
  const client = session.client as { constructor?: { name?: string } } | undefined;
  const isPool = client instanceof pg.Pool || (client?.constructor?.name ?? '').includes('Pool');
  return isPool && session.dialect ? (session as SessionParts) : undefined;
}

function checkTenant(tenantId: string): void {
  if (!UUID_RE.test(tenantId)) throw new Error('withTenant needs a tenant uuid');
}

/**
 * The transaction of `withTenant` on a pooled client: `BEGIN` and the tenant setting travel in one
 * round trip (a simple-protocol query; the id is a checked uuid, so the literal is safe), with the
 * caller's `opening` statements if any; then `fn`, then `COMMIT` — or `ROLLBACK` and the error. A
 * client whose rollback fails is destroyed rather than returned to the pool.
 */
async function onTenantClient<T>(
  pool: pg.Pool,
  tenantId: string,
  fn: (client: pg.PoolClient, opened: pg.QueryResult[]) => Promise<T>,
  opening?: string,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    const text = `begin; select set_config('app.tenant_id', '${tenantId}', true)`;
    const results = (await client.query(
      opening ? `${text}; ${opening}` : text,
    )) as unknown as pg.QueryResult[];
    const result = await fn(client, results.slice(2));
    await client.query('commit');
    return result;
  } catch (err) {
    // Also after a failed BEGIN or COMMIT: ROLLBACK outside a transaction is only a warning.
    await client.query('rollback').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken || undefined);
  }
}

/**
 * Runs `fn` in a transaction scoped to one tenant. `set_config(..., true)` is transaction-local,
 * so a pooled connection never carries a tenant into the next request; RLS policies read it through
 * `current_setting('app.tenant_id', true)`. Every repository call for tenant data goes through here.
 */
export async function withTenant<T>(db: Database, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  checkTenant(tenantId);
  const parts = sessionOf(db);
  if (!parts) {
    // Not on a pool (a single client): drizzle's own transaction, the setting as its first statement.
    return db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
      return fn(tx);
    });
  }
  return onTenantClient(parts.client as pg.Pool, tenantId, (client) => {
    const session = new NodePgSession(client, parts.dialect, parts.schema, parts.options);
    return fn(new NodePgTransaction(parts.dialect, session, parts.schema) as unknown as Tx);
  });
}

/**
 * `withTenant` for hot paths that talk to the driver directly (set-based statements with JSON
 * parameters, named prepared statements): the same transaction and tenant setting, the raw client.
 * `opening`, if given, is SQL text run in the same round trip as BEGIN (after the tenant setting);
 * its results are handed to `fn`, one per statement. It takes no parameters: only literals the
 * caller has checked may be in it (`sqlUuidArray`, ISO times, fixed names).
 */
export async function withTenantClient<T>(
  db: Database,
  tenantId: string,
  fn: (client: TenantClient, opened: pg.QueryResult[]) => Promise<T>,
  opening?: string,
): Promise<T> {
  checkTenant(tenantId);
  const parts = sessionOf(db);
  if (!parts) throw new Error('withTenantClient needs a database on a pg pool');
  return onTenantClient(parts.client as pg.Pool, tenantId, fn, opening);
}

/**
 * A read of tenant data in one round trip: the tenant setting and `text` travel as one
 * simple-protocol query, which Postgres runs as one implicit transaction (the setting ends with it,
 * and an error rolls it all back). The rows of the last statement come back. Like `opening` above,
 * `text` takes no parameters.
 */
export async function queryAsTenant<R extends pg.QueryResultRow>(
  db: Database,
  tenantId: string,
  text: string,
): Promise<R[]> {
  checkTenant(tenantId);
  const parts = sessionOf(db);
  if (!parts) throw new Error('queryAsTenant needs a database on a pg pool');
  const results = (await (parts.client as pg.Pool).query(
    `select set_config('app.tenant_id', '${tenantId}', true); ${text}`,
  )) as unknown as pg.QueryResult<R>[];
  return results[results.length - 1]!.rows;
}

/** `'{…}'::uuid[]` for SQL text without parameters; refuses anything that is not a uuid. */
export function sqlUuidArray(ids: readonly string[]): string {
  for (const id of ids) if (!UUID_RE.test(id)) throw new Error('sqlUuidArray takes uuids only');
  return `'{${ids.join(',')}}'::uuid[]`;
}
