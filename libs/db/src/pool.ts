import pg from 'pg';

export interface PoolOptions {
  /** Upper bound of open connections from this process. */
  max?: number;
  /** Server-side cap on any statement, so a stuck query cannot pin a connection forever. */
  statementTimeoutMs?: number;
  applicationName?: string;
}

export function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    application_name: options.applicationName ?? 'mailwarden',
  });
  // An idle client losing its connection emits on the pool; without a listener the process dies.
  pool.on('error', () => {});
  return pool;
}

/** Readiness probe: one round trip. */
export async function pingPool(pool: pg.Pool): Promise<void> {
  await pool.query('select 1');
}
