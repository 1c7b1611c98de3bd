import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, bearer, expectProblem, nextIp, signIn, signUp, uniqueEmail } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const refresh = (refreshToken: string) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/token', remoteAddress: nextIp(), payload: { refreshToken } });
const me = (token: string) => t.app.inject({ url: '/v1/me', headers: bearer(token) });

describe('refresh tokens', () => {
  it('should rotate on every use and end the whole family when a rotated token comes back', async () => {
    const owner = await signUp(t);
    const first = await refresh(owner.refreshToken);
    expect(first.statusCode).toBe(200);
    const rotated = first.json();
    expect(rotated.refreshToken).not.toBe(owner.refreshToken);
    expect(rotated.sessionId).toBe(owner.sessionId);
    expect((await me(rotated.accessToken)).statusCode).toBe(200);

    // The first token again: someone copied it. The session ends, for the copy and the original.
    expectProblem(await refresh(owner.refreshToken), 401, 'refresh_token_reused');
    expectProblem(await refresh(rotated.refreshToken), 401, 'session_revoked');
    expectProblem(await me(rotated.accessToken), 401, 'session_revoked');
    expectProblem(await me(owner.accessToken), 401, 'session_revoked');
  });

  it('should refuse forged and malformed refresh tokens', async () => {
    const owner = await signUp(t);
    const forged = `${owner.refreshToken.slice(0, -43)}${'A'.repeat(43)}`;
    expectProblem(await refresh(forged), 401, 'invalid_token');
    expectProblem(await refresh('mwr_nonsense'), 401, 'invalid_token');
    expectProblem(await refresh(owner.accessToken), 400, 'validation_failed');
    // None of that touched the real session.
    expect((await refresh(owner.refreshToken)).statusCode).toBe(200);
  });
});

describe('sign-out', () => {
  it('should stop the access token of a logged-out session at once', async () => {
    const owner = await signUp(t);
    expect((await me(owner.accessToken)).statusCode).toBe(200);
    const out = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: bearer(owner.accessToken),
    });
    expect(out.statusCode).toBe(204);
    const refused = await me(owner.accessToken);
    expectProblem(refused, 401, 'session_revoked');
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="mailwarden"');
    expectProblem(await refresh(owner.refreshToken), 401, 'session_revoked');
  });

  it('should list my sessions and end one of them', async () => {
    const owner = await signUp(t);
    const second = await signIn(t, owner.email, owner.password);
    const list = (
      await t.app.inject({ url: '/v1/auth/sessions', headers: bearer(second.accessToken) })
    ).json();
    expect(list.map((s: { id: string }) => s.id).sort()).toEqual([owner.sessionId, second.sessionId].sort());
    expect(list.find((s: { current: boolean }) => s.current).id).toBe(second.sessionId);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/v1/auth/sessions/${owner.sessionId}`,
      headers: bearer(second.accessToken),
    });
    expect(del.statusCode).toBe(204);
    expectProblem(await me(owner.accessToken), 401, 'session_revoked');
    expect((await me(second.accessToken)).statusCode).toBe(200);
    expectProblem(
      await t.app.inject({
        method: 'DELETE',
        url: '/v1/auth/sessions/ses_nonsense',
        headers: bearer(second.accessToken),
      }),
      404,
      'not_found',
    );
  });

  it('should log out everywhere, in every tenant of the user', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const email = uniqueEmail('msp');
    const { password } = await addMember(t, a, email, 'member');
    await addMember(t, b, email, 'viewer', password);
    const inA = await signIn(t, email, password, a.tenantId);
    const inB = await signIn(t, email, password, b.tenantId);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/logout-everywhere',
      headers: bearer(inA.accessToken),
    });
    expect(res.json()).toEqual({ revokedSessions: 2 });
    expectProblem(await me(inA.accessToken), 401, 'session_revoked');
    expectProblem(await me(inB.accessToken), 401, 'session_revoked');
    // The tenant owners' own sessions are untouched.
    expect((await me(a.accessToken)).statusCode).toBe(200);
  });
});

describe('tenant switching', () => {
  it('should give a token of the other tenant, each token carrying one tenant', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const email = uniqueEmail('partner');
    const { password } = await addMember(t, a, email, 'admin');
    await addMember(t, b, email, 'viewer', password);
    const inA = await signIn(t, email, password);
    expect(inA.tenant.id).toBe(a.tenantId);
    const switched = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/switch-tenant',
      headers: bearer(inA.accessToken),
      payload: { tenantId: b.tenantId },
    });
    expect(switched.statusCode).toBe(200);
    const inB = switched.json();
    expect(inB.tenant).toEqual({ id: b.tenantId, name: expect.any(String), role: 'viewer' });
    expect(inB.tenants.map((x: { id: string }) => x.id).sort()).toEqual([a.tenantId, b.tenantId].sort());
    expect((await me(inB.accessToken)).json().tenant.id).toBe(b.tenantId);
    expect((await me(inA.accessToken)).json().tenant.id).toBe(a.tenantId);
    // A tenant the user does not belong to is the same 404 as a missing one.
    const c = await signUp(t);
    expectProblem(
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/switch-tenant',
        headers: bearer(inA.accessToken),
        payload: { tenantId: c.tenantId },
      }),
      404,
      'not_found',
    );
  });
});

describe('access tokens at the door', () => {
  it('should publish the signing keys at /.well-known/jwks.json with a cache lifetime', async () => {
    const res = await t.app.inject({ url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    const owner = await signUp(t);
    const kid = JSON.parse(Buffer.from(owner.accessToken.split('.')[0]!, 'base64url').toString()).kid;
    const keys = res.json().keys;
    expect(keys.map((k: { kid: string }) => k.kid)).toContain(kid);
    for (const key of keys) expect(key).not.toHaveProperty('d');
  });

  it('should refuse expired, forged, alg:none and HS256-with-our-public-key tokens, changing nothing', async () => {
    const owner = await signUp(t);
    const [h, p] = owner.accessToken.split('.') as [string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const jwks = (await t.app.inject({ url: '/.well-known/jwks.json' })).json();
    const publicPem = createPublicKey({
      key: jwks.keys.find((k: { kid: string }) => k.kid === header.kid),
      format: 'jwk',
    }).export({ type: 'spki', format: 'pem' });
    const hsHeader = b64({ ...header, alg: 'HS256' });
    const cases: Record<string, string> = {
      none: `${b64({ ...header, alg: 'none' })}.${p}.`,
      hs256: `${hsHeader}.${p}.${createHmac('sha256', publicPem).update(`${hsHeader}.${p}`).digest('base64url')}`,
      tampered: `${h}.${b64({ ...payload, role: 'owner', exp: payload.exp + 3600 })}.${owner.accessToken.split('.')[2]}`,
      stranger: await new SignJWT(payload)
        .setProtectedHeader(header)
        .sign(generateKeyPairSync('ed25519').privateKey),
      garbage: 'a.b.c',
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await me(token);
      expect(res.statusCode, name).toBe(401);
      expectProblem(res, 401, 'invalid_token');
    }
    const expired = await new SignJWT({
      ...payload,
      exp: Math.floor(Date.now() / 1000) - 60,
      iat: Math.floor(Date.now() / 1000) - 1000,
    })
      .setProtectedHeader(header)
      .sign(generateKeyPairSync('ed25519').privateKey);
    expectProblem(await me(expired), 401, 'invalid_token');
    expectProblem(await t.app.inject({ url: '/v1/me' }), 401, 'unauthenticated');
    expectProblem(
      await t.app.inject({ url: '/v1/me', headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
      401,
      'invalid_token',
    );
    // The genuine token still works: nothing above touched the session.
    expect((await me(owner.accessToken)).statusCode).toBe(200);
  });

  it('should refuse an API key on a route that needs a person, and a token where a key is needed', async () => {
    const owner = await signUp(t);
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: bearer(owner.accessToken),
      payload: { name: 'ci', scopes: ['admin'] },
    });
    expectProblem(await me(created.json().key), 401, 'unauthenticated');
  });
});
