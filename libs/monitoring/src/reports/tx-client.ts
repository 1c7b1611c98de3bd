/**
 * The driver's client under a transaction from `withTenant`: COPY (pg-copy-streams) needs the
 * connection itself, and it must be the transaction's, so RLS and the tenant setting apply and the
 * rows commit or roll back with everything else. Drizzle keeps it as the session's `client`
 * (libs/db's tenant-tx.ts reads the same field to build the transaction).
 */
import type { Tx } from '@mailwarden/db';
import type { ClientBase } from 'pg';

export function transactionClient(tx: Tx): ClientBase {
  const session = (tx as unknown as { _?: { session?: { client?: unknown } } })._?.session;
  const client = session?.client as ClientBase | undefined;
  // A pool (totalCount) would hand each statement to any connection, outside the transaction.
  if (typeof client?.query !== 'function' || 'totalCount' in client)
    throw new Error('COPY needs a transaction on one pg client');
  return client;
}
