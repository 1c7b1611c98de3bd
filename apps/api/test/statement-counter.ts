import pg from 'pg';

/**
 * Every statement any pg client of this process sends while `fn` runs: the GraphQL tests use it to
 * show that a dashboard costs the same number of statements whatever its number of domains.
 */
export async function countStatements(fn: () => Promise<unknown>): Promise<number> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let count = 0;
  proto.query = function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return count;
}
