import { decodeId } from '@mailwarden/core';
import { withTenant } from '@mailwarden/db';
import { openTestDatabase } from '@mailwarden/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, gql, signUp } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
const { pool, db } = openTestDatabase();
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  await t.close();
  await pool.end();
});

const create = (token: string, payload: object) =>
  t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(token), payload });

describe('API keys', () => {
  it('should show the key once, keep only its hash, and list it by prefix', async () => {
    const owner = await signUp(t);
    const res = await create(owner.accessToken, { name: 'Grafana', scopes: ['read'] });
    expect(res.statusCode).toBe(201);
    const { apiKey, key } = res.json();
    expect(key).toMatch(/^mw_[0-9a-z]{52}[\w-]{43}$/);
    expect(apiKey).toMatchObject({
      name: 'Grafana',
      scopes: ['read'],
      prefix: key.slice(0, 11),
      createdBy: owner.userId,
      lastUsedAt: null,
      revokedAt: null,
    });
    const list = (await t.app.inject({ url: '/v1/api-keys', headers: bearer(owner.accessToken) })).body;
    expect(list).toContain(apiKey.prefix);
    expect(list).not.toContain(key.slice(11));
    const stored = await t.app.inject({
      url: `/v1/api-keys/${apiKey.id}`,
      headers: bearer(owner.accessToken),
    });
    expect(stored.json().id).toBe(apiKey.id);
    // What the database holds is a SHA-256, not the secret.
    const rows = await db.execute<{ row: string }>(sql`select row_to_json(k)::text as row from api_keys k`);
    for (const { row } of rows.rows) expect(row).not.toContain(key.slice(-43));
  });

  it('should authenticate REST and GraphQL with the key, within its scopes, and note its last use', async () => {
    const owner = await signUp(t);
    const read = (await create(owner.accessToken, { name: 'reader', scopes: ['read'] })).json();
    const admin = (await create(owner.accessToken, { name: 'admin', scopes: ['admin', 'read'] })).json();
    expect((await t.app.inject({ url: '/v1/members', headers: bearer(read.key) })).statusCode).toBe(200);
    expectProblem(
      await t.app.inject({ url: '/v1/audit-events', headers: bearer(read.key) }),
      403,
      'forbidden',
    );
    expect((await t.app.inject({ url: '/v1/audit-events', headers: bearer(admin.key) })).statusCode).toBe(
      200,
    );
    const { body } = await gql(t, '{ tenant { id } members { email role } }', { token: read.key });
    expect(body.data.tenant.id).toBe(owner.tenantId);
    expect(body.data.members[0].email).toBe(owner.email);
    // An API key never mints API keys: a leaked key cannot entrench itself.
    expectProblem(await create(admin.key, { name: 'x', scopes: ['read'] }), 401, 'unauthenticated');
    await expect
      .poll(
        async () =>
          (
            await t.app.inject({ url: `/v1/api-keys/${read.apiKey.id}`, headers: bearer(owner.accessToken) })
          ).json().lastUsedAt,
      )
      .not.toBeNull();
  });

  it('should stop a revoked key on the next request', async () => {
    const owner = await signUp(t);
    const { apiKey, key } = (await create(owner.accessToken, { name: 'ci', scopes: ['read'] })).json();
    expect((await t.app.inject({ url: '/v1/members', headers: bearer(key) })).statusCode).toBe(200);
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/v1/api-keys/${apiKey.id}`,
      headers: bearer(owner.accessToken),
    });
    expect(revoked.json().revokedAt).not.toBeNull();
    expectProblem(await t.app.inject({ url: '/v1/members', headers: bearer(key) }), 401, 'invalid_token');
    expect((await gql(t, '{ members { id } }', { token: key })).status).toBe(401);
  });

  it('should refuse an expired key, a past expiry, and forged keys', async () => {
    const owner = await signUp(t);
    expectProblem(
      await create(owner.accessToken, { name: 'old', scopes: ['read'], expiresAt: '2001-01-01T00:00:00Z' }),
      400,
      'validation_failed',
    );
    const soon = (
      await create(owner.accessToken, {
        name: 'soon',
        scopes: ['read'],
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      })
    ).json();
    expect((await t.app.inject({ url: '/v1/members', headers: bearer(soon.key) })).statusCode).toBe(200);
    // A key whose expiry has passed (moved into the past before its first use, so nothing is cached).
    const lapsed = (
      await create(owner.accessToken, {
        name: 'lapsed',
        scopes: ['read'],
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      })
    ).json();
    const tenantUuid = decodeId('ten', owner.tenantId)!;
    await withTenant(db, tenantUuid, (tx) =>
      tx.execute(
        sql`update api_keys set expires_at = now() - interval '1 second' where id = ${decodeId('key', lapsed.apiKey.id)}`,
      ),
    );
    expectProblem(
      await t.app.inject({ url: '/v1/members', headers: bearer(lapsed.key) }),
      401,
      'invalid_token',
    );
    const forged = `${soon.key.slice(0, -43)}${'B'.repeat(43)}`;
    expectProblem(await t.app.inject({ url: '/v1/members', headers: bearer(forged) }), 401, 'invalid_token');
    expectProblem(
      await t.app.inject({ url: '/v1/members', headers: bearer('mw_short') }),
      401,
      'invalid_token',
    );
    const other = await signUp(t);
    // A genuine key id with another tenant's id spliced in finds nothing.
    const spliced = `mw_${soon.key.slice(3, 29)}${other.tenantId.slice(4)}${soon.key.slice(-43)}`;
    expectProblem(await t.app.inject({ url: '/v1/members', headers: bearer(spliced) }), 401, 'invalid_token');
  });

  it('should rename and record key events in the audit log', async () => {
    const owner = await signUp(t);
    const { apiKey } = (await create(owner.accessToken, { name: 'before', scopes: ['write'] })).json();
    const renamed = await t.app.inject({
      method: 'PATCH',
      url: `/v1/api-keys/${apiKey.id}`,
      headers: bearer(owner.accessToken),
      payload: { name: 'after' },
    });
    expect(renamed.json().name).toBe('after');
    await t.app.inject({
      method: 'DELETE',
      url: `/v1/api-keys/${apiKey.id}`,
      headers: bearer(owner.accessToken),
    });
    const actions = (await t.app.inject({ url: '/v1/audit-events', headers: bearer(owner.accessToken) }))
      .json()
      .items.map((e: { action: string }) => e.action);
    expect(actions.slice(0, 3)).toEqual(['api_key.revoked', 'api_key.renamed', 'api_key.created']);
  });
});
