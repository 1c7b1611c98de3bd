import { sql } from 'drizzle-orm';
import { pgPolicy } from 'drizzle-orm/pg-core';
import { memberships } from './memberships.ts';
import { tenantSettings } from './tenant-settings.ts';
import { tenants } from './tenants.ts';

/**
 * The one sanctioned cross-tenant read (docs/decisions/0003): a user's own memberships, the names
 * of their tenants and those tenants' settings, which sign-in needs before any tenant is chosen.
 *
 * These policies are permissive and FOR SELECT only, so they add rows to what a transaction may
 * read but never to what it may write. They match only while `app.user_id` is set, which
 * libs/auth does transaction-locally for a user it has already identified, and never together
 * with `app.tenant_id`.
 */
export const currentDirectoryUser = sql`nullif(current_setting('app.user_id', true), '')::uuid`;

export const membershipsUserDirectory = pgPolicy('user_directory', {
  as: 'permissive',
  for: 'select',
  using: sql`user_id = ${currentDirectoryUser}`,
}).link(memberships);

export const tenantsUserDirectory = pgPolicy('user_directory', {
  as: 'permissive',
  for: 'select',
  using: sql`id in (select m.tenant_id from memberships m where m.user_id = ${currentDirectoryUser})`,
}).link(tenants);

export const tenantSettingsUserDirectory = pgPolicy('user_directory', {
  as: 'permissive',
  for: 'select',
  using: sql`tenant_id in (select m.tenant_id from memberships m where m.user_id = ${currentDirectoryUser})`,
}).link(tenantSettings);
