export * from './client.ts';
export * from './database-config.ts';
export * from './migrate.ts';
export * from './pool.ts';
export * as schema from './schema/index.ts';
export * from './setup.ts';
export * from './tenant-tx.ts';
