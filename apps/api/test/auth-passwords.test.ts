import { openTestDatabase } from '@mailwarden/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  bearer,
  expectProblem,
  logIn,
  mailedToken,
  nextIp,
  OTHER_PASSWORD,
  STRONG_PASSWORD,
  signIn,
  signUp,
  uniqueEmail,
} from './auth-helpers.ts';
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

const THIRD_PASSWORD = 'Harbour Lantern Quiet Meadow 42';
const change = (token: string, currentPassword: string, newPassword: string) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/auth/password/change',
    headers: bearer(token),
    payload: { currentPassword, newPassword },
  });
const me = (token: string) => t.app.inject({ url: '/v1/me', headers: bearer(token) });
const hashOf = async (email: string) =>
  (
    await db.execute<{ h: string }>(
      sql`select c.password_hash as h from user_credentials c join users u on u.id = c.user_id where lower(u.email) = lower(${email})`,
    )
  ).rows[0]!.h;

describe('changing a password', () => {
  it('should need the current password, then end the other sessions but not this one', async () => {
    const owner = await signUp(t);
    const other = await signIn(t, owner.email, owner.password);
    expectProblem(
      await change(owner.accessToken, 'not the current one', OTHER_PASSWORD),
      401,
      'invalid_credentials',
    );
    expect((await change(owner.accessToken, owner.password, OTHER_PASSWORD)).statusCode).toBe(204);
    expect((await me(owner.accessToken)).statusCode).toBe(200);
    expectProblem(await me(other.accessToken), 401, 'session_revoked');
    expectProblem(await logIn(t, owner.email, owner.password), 401, 'invalid_credentials');
    await signIn(t, owner.email, OTHER_PASSWORD);
    expect(t.container.mailer.lastTo(owner.email, 'password_changed')).toBeDefined();
  });

  it('should apply the tenant policy: length, classes, and no reuse of the last N', async () => {
    const owner = await signUp(t);
    const policy = await t.app.inject({
      method: 'PATCH',
      url: '/v1/tenant/settings',
      headers: bearer(owner.accessToken),
      payload: { passwordPolicy: { minLength: 20, requiredClasses: ['digit'], historyCount: 2 } },
    });
    expect(policy.json().passwordPolicy).toEqual({
      minLength: 20,
      requiredClasses: ['digit'],
      maxAgeDays: 0,
      historyCount: 2,
    });
    const before = await hashOf(owner.email);
    const short = expectProblem(
      await change(owner.accessToken, owner.password, 'Vivid Otter Qua 7'),
      400,
      'password_policy',
    );
    expect(JSON.stringify(short.errors)).toContain('at least 20 characters');
    const noDigit = expectProblem(
      await change(owner.accessToken, owner.password, 'glacier tundra marmalade obelisk quartz'),
      400,
      'password_policy',
    );
    expect(JSON.stringify(noDigit.errors)).toContain('class digit');
    expect(await hashOf(owner.email)).toBe(before);
  });

  it('should refuse the last N passwords', async () => {
    const owner = await signUp(t, { password: 'glacier tundra marmalade 1 obelisk' });
    await t.app.inject({
      method: 'PATCH',
      url: '/v1/tenant/settings',
      headers: bearer(owner.accessToken),
      payload: { passwordPolicy: { historyCount: 2 } },
    });
    expect((await change(owner.accessToken, owner.password, THIRD_PASSWORD)).statusCode).toBe(204);
    const back = expectProblem(
      await change(owner.accessToken, THIRD_PASSWORD, owner.password),
      400,
      'password_policy',
    );
    expect(JSON.stringify(back.errors)).toContain('last 2 passwords');
    expectProblem(await change(owner.accessToken, THIRD_PASSWORD, THIRD_PASSWORD), 400, 'password_policy');
    expect((await change(owner.accessToken, THIRD_PASSWORD, OTHER_PASSWORD)).statusCode).toBe(204);
  });

  it('should force a change at the next sign-in once the password is older than the maximum age', async () => {
    const owner = await signUp(t);
    await t.app.inject({
      method: 'PATCH',
      url: '/v1/tenant/settings',
      headers: bearer(owner.accessToken),
      payload: { passwordPolicy: { maxAgeDays: 30 } },
    });
    await db.execute(
      sql`update user_credentials set password_changed_at = now() - interval '31 days' where user_id = (select id from users where lower(email) = lower(${owner.email}))`,
    );
    const expired = await signIn(t, owner.email, owner.password);
    expect(expired.restriction).toBe('password_change');
    expectProblem(
      await t.app.inject({ url: '/v1/members', headers: bearer(expired.accessToken) }),
      403,
      'password_change_required',
    );
    expect((await change(expired.accessToken, owner.password, OTHER_PASSWORD)).statusCode).toBe(204);
    expect(
      (await t.app.inject({ url: '/v1/members', headers: bearer(expired.accessToken) })).statusCode,
    ).toBe(200);
    expect((await signIn(t, owner.email, OTHER_PASSWORD)).restriction).toBeNull();
  });

  it('should hold a member of two tenants to the stricter policy of both', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const email = uniqueEmail('both');
    const { password } = await addMember(t, a, email, 'member', 'Harbour Lantern Quiet Meadow 42 and 7');
    await addMember(t, b, email, 'member', password);
    await t.app.inject({
      method: 'PATCH',
      url: '/v1/tenant/settings',
      headers: bearer(b.accessToken),
      payload: { passwordPolicy: { minLength: 40 } },
    });
    const member = await signIn(t, email, password, a.tenantId);
    const problem = expectProblem(
      await change(member.accessToken, password, STRONG_PASSWORD),
      400,
      'password_policy',
    );
    expect(JSON.stringify(problem.errors)).toContain('at least 40 characters');
  });
});

describe('resetting a forgotten password', () => {
  const requestReset = (email: string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/auth/password/reset-request',
      remoteAddress: nextIp(),
      payload: { email },
    });
  const reset = (token: string, newPassword: string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/auth/password/reset',
      remoteAddress: nextIp(),
      payload: { token, newPassword },
    });

  it('should mail a single-use token that sets a new password and ends every session', async () => {
    const owner = await signUp(t);
    const res = await requestReset(owner.email);
    expect(res.statusCode).toBe(202);
    const token = mailedToken(t, owner.email, 'password_reset', 'mwp');
    expectProblem(await reset(token, 'short'), 400, 'password_policy');
    // A refused password did not spend the token.
    expect((await reset(token, OTHER_PASSWORD)).statusCode).toBe(204);
    expectProblem(await me(owner.accessToken), 401, 'session_revoked');
    await signIn(t, owner.email, OTHER_PASSWORD);
    expectProblem(await reset(token, THIRD_PASSWORD), 401, 'invalid_token');
    await signIn(t, owner.email, OTHER_PASSWORD);
  });

  it('should answer the same for unknown addresses, and mail nothing', async () => {
    const email = uniqueEmail('ghost');
    const res = await requestReset(email);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ status: 'accepted' });
    expect(t.container.mailer.lastTo(email)).toBeUndefined();
  });

  it('should refuse an expired or forged token', async () => {
    const owner = await signUp(t);
    await requestReset(owner.email);
    const token = mailedToken(t, owner.email, 'password_reset', 'mwp');
    expectProblem(await reset(`${token.slice(0, -5)}AAAAA`, OTHER_PASSWORD), 401, 'invalid_token');
    await db.execute(
      sql`update password_reset_tokens set expires_at = now() - interval '1 second' where user_id = (select id from users where lower(email) = lower(${owner.email}))`,
    );
    expectProblem(await reset(token, OTHER_PASSWORD), 401, 'invalid_token');
    await signIn(t, owner.email, owner.password);
  });
});
