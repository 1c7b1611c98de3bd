/**
 * The database layer of tenant isolation, on its own: queries with no tenant filter at all, run
 * as the app role, see only the current tenant's rows in every tenant table; and the one
 * cross-tenant read (the user directory, docs/decisions/0003) reaches only one user's memberships
 * and can write nothing.
 */
import { decodeId } from '@mailwarden/core';
import { withTenant } from '@mailwarden/db';
import { openTestDatabase } from '@mailwarden/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, bearer, type SignedUp, signUp, uniqueEmail } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
const { pool, db } = openTestDatabase();
let tables: string[] = [];

async function populate(owner: SignedUp) {
  await addMember(t, owner, uniqueEmail('m'), 'member');
  await t.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: bearer(owner.accessToken),
    payload: { name: 'k', scopes: ['read'] },
  });
  await t.app.inject({
    method: 'POST',
    url: '/v1/invitations',
    headers: bearer(owner.accessToken),
    payload: { email: uniqueEmail('i'), role: 'viewer' },
  });
  await t.app.inject({
    method: 'PATCH',
    url: '/v1/tenant/settings',
    headers: bearer(owner.accessToken),
    payload: { requireMfa: false },
  });
}

beforeAll(async () => {
  t = await buildTestApp();
  a = await signUp(t);
  b = await signUp(t);
  await populate(a);
  await populate(b);
  const { rows } = await db.execute<{ table: string }>(sql`
    select c.relname as table from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'r'
       and exists (select 1 from pg_attribute x where x.attrelid = c.oid and x.attname = 'tenant_id' and not x.attisdropped)
     order by 1`);
  tables = rows.map((r) => r.table);
});
afterAll(async () => {
  await t.close();
  await pool.end();
});

describe('queries without a tenant filter, as the app role', () => {
  it('should see only the current tenant in every tenant table', async () => {
    expect(tables).toEqual(
      expect.arrayContaining([
        'api_keys',
        'audit_events',
        'invitations',
        'memberships',
        'refresh_tokens',
        'sessions',
        'tenant_settings',
      ]),
    );
    const bId = decodeId('ten', b.tenantId)!;
    for (const table of tables) {
      const rows = await withTenant(
        db,
        bId,
        async (tx) =>
          (await tx.execute<{ tenant_id: string }>(sql`select tenant_id from ${sql.identifier(table)}`)).rows,
      );
      expect(new Set(rows.map((r) => r.tenant_id)), table).toEqual(rows.length ? new Set([bId]) : new Set());
      if (
        [
          'api_keys',
          'audit_events',
          'invitations',
          'memberships',
          'refresh_tokens',
          'sessions',
          'tenant_settings',
        ].includes(table)
      ) {
        expect(rows.length, table).toBeGreaterThan(0);
      }
    }
    const tenantsSeen = await withTenant(
      db,
      bId,
      async (tx) => (await tx.execute<{ id: string }>(sql`select id from tenants`)).rows,
    );
    expect(tenantsSeen.map((r) => r.id)).toEqual([bId]);
  });

  it('should see no tenant rows at all outside a tenant transaction', async () => {
    for (const table of [...tables, 'tenants']) {
      const { rows } = await db.execute(sql`select 1 from ${sql.identifier(table)}`);
      expect(rows, table).toEqual([]);
    }
  });
});

describe('the user directory (app.user_id)', () => {
  it("should show one user's memberships, tenants and settings across tenants, and nothing else", async () => {
    const email = uniqueEmail('msp');
    const { password } = await addMember(t, a, email, 'admin');
    await addMember(t, b, email, 'viewer', password);
    const me = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        remoteAddress: '127.251.0.1',
        payload: { email, password },
      })
    ).json();
    const userId = decodeId(
      'usr',
      (await t.app.inject({ url: '/v1/me', headers: bearer(me.accessToken) })).json().user.id,
    )!;
    const seen = await db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('app.user_id', ${userId}, true)`);
      const q = async (text: ReturnType<typeof sql>) => (await tx.execute(text)).rows;
      return {
        memberships: await q(sql`select tenant_id, user_id from memberships`),
        tenants: await q(sql`select id from tenants`),
        settings: await q(sql`select tenant_id from tenant_settings`),
        apiKeys: await q(sql`select 1 from api_keys`),
        sessions: await q(sql`select 1 from sessions`),
        audit: await q(sql`select 1 from audit_events`),
        updated: (await tx.execute(sql`update memberships set role = 'owner' where user_id = ${userId}`))
          .rowCount,
        deleted: (await tx.execute(sql`delete from memberships where user_id = ${userId}`)).rowCount,
      };
    });
    const both = [decodeId('ten', a.tenantId), decodeId('ten', b.tenantId)].sort();
    expect(seen.memberships.map((r) => (r as { user_id: string }).user_id)).toEqual([userId, userId]);
    expect(seen.memberships.map((r) => (r as { tenant_id: string }).tenant_id).sort()).toEqual(both);
    expect(seen.tenants.map((r) => (r as { id: string }).id).sort()).toEqual(both);
    expect(seen.settings.map((r) => (r as { tenant_id: string }).tenant_id).sort()).toEqual(both);
    expect([seen.apiKeys, seen.sessions, seen.audit]).toEqual([[], [], []]);
    expect([seen.updated, seen.deleted]).toEqual([0, 0]);
    // Inserting through it is refused outright.
    await expect(
      db.transaction(async (tx) => {
        await tx.execute(sql`select set_config('app.user_id', ${userId}, true)`);
        await tx.execute(
          sql`insert into memberships (id, tenant_id, user_id, role) values (gen_random_uuid(), ${decodeId('ten', a.tenantId)}, ${userId}, 'owner')`,
        );
      }),
    ).rejects.toMatchObject({ cause: { code: '42501' } });
  });
});
