export * from './domains.ts';
export * from './memberships.ts';
export * from './tenants.ts';
export * from './users.ts';
