/**
 * "A revoked session stops working at once" across API instances: two apps on one Redis prefix,
 * each with its own in-process check cache set to a minute, so only the invalidation channel can
 * explain the second instance refusing the token right after the first revoked it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signUp } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  const env = { REDIS_KEY_PREFIX: `test-${randomUUID()}`, AUTH_CACHE_TTL_MS: '60000' };
  a = await buildTestApp(env);
  b = await buildTestApp(env);
});
afterAll(async () => {
  await a.close();
  await b.close();
});

const me = (t: TestApp, token: string) => t.app.inject({ url: '/v1/me', headers: bearer(token) });

/** Polls until `status` is answered, for at most `ms` (far below the cache's minute). */
async function answersWithin(t: TestApp, token: string, status: number, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await me(t, token);
    if (res.statusCode === status) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('session checks cached on several instances', () => {
  it('should refuse a session on every instance right after one instance revoked it', async () => {
    const owner = await signUp(a);
    // Instance b checks the token and, once its channel is up, keeps the result for a minute.
    expect((await me(b, owner.accessToken)).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await me(b, owner.accessToken)).statusCode).toBe(200);
    const out = await a.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: bearer(owner.accessToken),
    });
    expect(out.statusCode).toBe(204);
    expect(await answersWithin(b, owner.accessToken, 401, 2_000)).toBe(true);
  });

  it('should carry an API key revocation to the other instance too', async () => {
    const owner = await signUp(a);
    const created = await a.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: bearer(owner.accessToken),
      payload: { name: 'integration', scopes: ['read'] },
    });
    const { key, apiKey } = created.json();
    const tenant = () => b.app.inject({ url: '/v1/tenant', headers: bearer(key) });
    expect((await tenant()).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await tenant()).statusCode).toBe(200);
    await a.app.inject({
      method: 'DELETE',
      url: `/v1/api-keys/${apiKey.id}`,
      headers: bearer(owner.accessToken),
    });
    const deadline = Date.now() + 2_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      status = (await tenant()).statusCode;
      if (status === 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(401);
  });
});
