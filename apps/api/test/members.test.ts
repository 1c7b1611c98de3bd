import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  bearer,
  expectProblem,
  invitationToken,
  nextIp,
  OTHER_PASSWORD,
  STRONG_PASSWORD,
  signIn,
  signUp,
  uniqueEmail,
} from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const get = (url: string, token: string) => t.app.inject({ url, headers: bearer(token) });
const send = (method: 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: object) =>
  t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
const accept = (token: string, password: string) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/invitations/accept',
    remoteAddress: nextIp(),
    payload: { token, password },
  });

async function memberIdOf(token: string, email: string): Promise<string> {
  const members = (await get('/v1/members', token)).json();
  return members.find((m: { email: string }) => m.email === email).id;
}

describe('invitations', () => {
  it('should invite by e-mail, mail a single-use token, and add the member on acceptance', async () => {
    const owner = await signUp(t);
    const email = uniqueEmail('bo');
    const created = await send('POST', '/v1/invitations', owner.accessToken, { email, role: 'member' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ email, role: 'member', status: 'pending' });
    expect(created.body).not.toContain('mwi_');
    const token = invitationToken(t, email);
    const joined = await accept(token, STRONG_PASSWORD);
    expect(joined.json()).toMatchObject({ tenant: { id: owner.tenantId }, email, role: 'member' });
    expectProblem(await accept(token, STRONG_PASSWORD), 401, 'invalid_token');
    const signedIn = await signIn(t, email, STRONG_PASSWORD);
    expect(signedIn.tenant.id).toBe(owner.tenantId);
    const list = (await get('/v1/invitations', owner.accessToken)).json();
    expect(list[0]).toMatchObject({ email, status: 'accepted' });
  });

  it('should ask an existing account for its own password, and hand out no session', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    await send('POST', '/v1/invitations', b.accessToken, { email: a.email, role: 'viewer' });
    const token = invitationToken(t, a.email);
    expectProblem(await accept(token, OTHER_PASSWORD), 401, 'invalid_credentials');
    const ok = await accept(token, a.password);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).not.toHaveProperty('accessToken');
    const me = (await get('/v1/me', a.accessToken)).json();
    expect(me.tenants.map((x: { id: string }) => x.id).sort()).toEqual([a.tenantId, b.tenantId].sort());
  });

  it('should refuse revoked and forged invitations', async () => {
    const owner = await signUp(t);
    const email = uniqueEmail('revoked');
    const created = (
      await send('POST', '/v1/invitations', owner.accessToken, { email, role: 'member' })
    ).json();
    const token = invitationToken(t, email);
    expect((await send('DELETE', `/v1/invitations/${created.id}`, owner.accessToken)).json().status).toBe(
      'revoked',
    );
    expectProblem(await accept(token, STRONG_PASSWORD), 401, 'invalid_token');
    expectProblem(await accept(`${token.slice(0, -4)}AAAA`, STRONG_PASSWORD), 401, 'invalid_token');
    expectProblem(await accept('mwi_short', STRONG_PASSWORD), 401, 'invalid_token');
  });

  it('should let only owners invite owners, and never API keys invite anyone', async () => {
    const owner = await signUp(t);
    const adminEmail = uniqueEmail('admin');
    const { password } = await addMember(t, owner, adminEmail, 'admin');
    const admin = await signIn(t, adminEmail, password);
    expectProblem(
      await send('POST', '/v1/invitations', admin.accessToken, { email: uniqueEmail(), role: 'owner' }),
      403,
      'forbidden',
    );
    expect(
      (await send('POST', '/v1/invitations', admin.accessToken, { email: uniqueEmail(), role: 'admin' }))
        .statusCode,
    ).toBe(201);
    const key = (
      await send('POST', '/v1/api-keys', owner.accessToken, { name: 'ops', scopes: ['admin'] })
    ).json().key;
    expectProblem(
      await send('POST', '/v1/invitations', key, { email: uniqueEmail(), role: 'viewer' }),
      401,
      'unauthenticated',
    );
  });
});

describe('roles', () => {
  it('should let each role do what docs/permissions.md says and no more', async () => {
    const owner = await signUp(t);
    const users: Record<string, string> = {};
    for (const role of ['admin', 'member', 'viewer']) {
      const email = uniqueEmail(role);
      const { password } = await addMember(t, owner, email, role);
      users[role] = (await signIn(t, email, password)).accessToken;
    }
    const viewerId = await memberIdOf(
      owner.accessToken,
      (await get('/v1/me', users.viewer!)).json().user.email,
    );
    // Everyone reads members and the tenant.
    for (const token of Object.values(users)) expect((await get('/v1/members', token)).statusCode).toBe(200);
    // Only admins and owners change roles, read the audit log and manage keys.
    for (const role of ['member', 'viewer']) {
      expectProblem(
        await send('PATCH', `/v1/members/${viewerId}`, users[role]!, { role: 'member' }),
        403,
        'forbidden',
      );
      expectProblem(await get('/v1/audit-events', users[role]!), 403, 'forbidden');
      expectProblem(
        await send('POST', '/v1/api-keys', users[role]!, { name: 'x', scopes: ['read'] }),
        403,
        'forbidden',
      );
      expectProblem(
        await send('PATCH', '/v1/tenant/settings', users[role]!, { requireMfa: true }),
        403,
        'forbidden',
      );
    }
    expect(
      (await send('PATCH', `/v1/members/${viewerId}`, users.admin!, { role: 'member' })).json().role,
    ).toBe('member');
    // An admin may not touch an owner.
    const ownerMemberId = await memberIdOf(owner.accessToken, owner.email);
    expectProblem(
      await send('PATCH', `/v1/members/${ownerMemberId}`, users.admin!, { role: 'viewer' }),
      403,
      'forbidden',
    );
    expectProblem(await send('DELETE', `/v1/members/${ownerMemberId}`, users.admin!), 403, 'forbidden');
    expectProblem(
      await send('PATCH', `/v1/members/${viewerId}`, users.admin!, { role: 'owner' }),
      403,
      'forbidden',
    );
  });

  it('should keep at least one owner', async () => {
    const owner = await signUp(t);
    const ownerId = await memberIdOf(owner.accessToken, owner.email);
    expectProblem(
      await send('PATCH', `/v1/members/${ownerId}`, owner.accessToken, { role: 'admin' }),
      409,
      'last_owner',
    );
    expectProblem(await send('DELETE', `/v1/members/${ownerId}`, owner.accessToken), 409, 'last_owner');
    const second = uniqueEmail('second-owner');
    await addMember(t, owner, second, 'owner');
    expect(
      (await send('PATCH', `/v1/members/${ownerId}`, owner.accessToken, { role: 'admin' })).json().role,
    ).toBe('admin');
  });

  it('should apply a role change to a live session at once', async () => {
    const owner = await signUp(t);
    const email = uniqueEmail('promoted');
    const { password } = await addMember(t, owner, email, 'viewer');
    const viewer = await signIn(t, email, password);
    expectProblem(await get('/v1/audit-events', viewer.accessToken), 403, 'forbidden');
    await send('PATCH', `/v1/members/${await memberIdOf(owner.accessToken, email)}`, owner.accessToken, {
      role: 'admin',
    });
    expect((await get('/v1/audit-events', viewer.accessToken)).statusCode).toBe(200);
  });

  it('should end the sessions of a removed member at once', async () => {
    const owner = await signUp(t);
    const email = uniqueEmail('leaver');
    const { password } = await addMember(t, owner, email, 'member');
    const leaver = await signIn(t, email, password);
    expect((await get('/v1/members', leaver.accessToken)).statusCode).toBe(200);
    const removed = await send(
      'DELETE',
      `/v1/members/${await memberIdOf(owner.accessToken, email)}`,
      owner.accessToken,
    );
    expect(removed.statusCode).toBe(204);
    expectProblem(await get('/v1/members', leaver.accessToken), 401, 'session_revoked');
    expectProblem(
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/token',
        remoteAddress: nextIp(),
        payload: { refreshToken: leaver.refreshToken },
      }),
      401,
      'session_revoked',
    );
    const audit = (await get('/v1/audit-events', owner.accessToken)).json().items;
    expect(audit[0]).toMatchObject({ action: 'member.removed', details: { sessionsEnded: 1 } });
  });
});
