export * from './db.ts';
export * from './dns-server/index.ts';
