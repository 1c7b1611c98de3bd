import { openTestDatabase } from '@mailwarden/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  expectProblem,
  logIn,
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

async function storedHash(email: string): Promise<string> {
  const { rows } = await db.execute<{ password_hash: string }>(
    sql`select c.password_hash from user_credentials c join users u on u.id = c.user_id where lower(u.email) = lower(${email})`,
  );
  return rows[0]!.password_hash;
}

describe('sign-up', () => {
  it('should create a tenant with its owner and sign the owner in', async () => {
    const email = uniqueEmail('ann');
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      remoteAddress: nextIp(),
      payload: { email, password: STRONG_PASSWORD, tenantName: 'Acme Mail', displayName: 'Ann Lee' },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      status: 'authenticated',
      tokenType: 'Bearer',
      expiresIn: 900,
      user: { email, displayName: 'Ann Lee' },
      tenant: { name: 'Acme Mail', role: 'owner' },
      restriction: null,
    });
    expect(body.refreshToken).toMatch(/^mwr_/);
    const me = await t.app.inject({ url: '/v1/me', headers: bearer(body.accessToken) });
    expect(me.json()).toMatchObject({
      user: { id: body.user.id, email, mfaEnabled: false },
      tenant: { id: body.tenant.id, role: 'owner' },
    });
    // The password is stored as argon2id, never as given.
    expect(await storedHash(email)).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('should refuse a weak or common password with password_policy and create nothing', async () => {
    const emails: string[] = [];
    for (const make of [
      () => 'short pass',
      () => 'passwordpassword',
      () => 'qwertyuiopasdfgh',
      (email: string) => email,
    ]) {
      const email = uniqueEmail('weak');
      emails.push(email);
      const password = make(email);
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/signup',
        remoteAddress: nextIp(),
        payload: { email, password, tenantName: 'Weak' },
      });
      const problem = expectProblem(res, 400, 'password_policy');
      expect(problem.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ location: 'body.password' })]),
      );
      if (password !== email) expect(JSON.stringify(problem)).not.toContain(password);
    }
    for (const email of emails) {
      expect((await db.execute(sql`select 1 from users where lower(email) = lower(${email})`)).rows).toEqual(
        [],
      );
    }
  });

  it('should refuse a second account for the same address, in any letter case', async () => {
    const owner = await signUp(t);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      remoteAddress: nextIp(),
      payload: { email: owner.email.toUpperCase(), password: OTHER_PASSWORD, tenantName: 'Again' },
    });
    expectProblem(res, 409, 'email_taken');
  });
});

describe('sign-in', () => {
  it('should sign in with the password, whatever the letter case of the address', async () => {
    const owner = await signUp(t);
    const body = await signIn(t, owner.email.toUpperCase(), owner.password);
    expect(body.tenant.id).toBe(owner.tenantId);
    expect((await t.app.inject({ url: '/v1/me', headers: bearer(body.accessToken) })).statusCode).toBe(200);
  });

  it('should answer a wrong password and an unknown address identically', async () => {
    const owner = await signUp(t);
    const wrong = await logIn(t, owner.email, 'not the password at all');
    const unknown = await logIn(t, uniqueEmail('nobody'), 'not the password at all');
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined });
    expect(strip(expectProblem(wrong, 401, 'invalid_credentials'))).toEqual(
      strip(expectProblem(unknown, 401, 'invalid_credentials')),
    );
    expect(wrong.headers['www-authenticate']).toBeUndefined();
  });

  it('should accept a 64+ character password in full and refuse it truncated', async () => {
    const long = `${STRONG_PASSWORD} ${OTHER_PASSWORD} and a third clause of words`;
    expect(long.length).toBeGreaterThan(64);
    const owner = await signUp(t, { password: long });
    await signIn(t, owner.email, long);
    expectProblem(await logIn(t, owner.email, long.slice(0, 64)), 401, 'invalid_credentials');
  });

  it('should rehash at sign-in when the hash parameters were raised', async () => {
    const owner = await signUp(t);
    const stronger = await buildTestApp({ PASSWORD_HASH_TIME_COST: '3' });
    try {
      expect(await storedHash(owner.email)).toContain('m=19456,t=2,p=1');
      await signIn(stronger, owner.email, owner.password);
      expect(await storedHash(owner.email)).toContain('m=19456,t=3,p=1');
      // And the old parameters still verify the new hash (parameters travel in the PHC string).
      await signIn(t, owner.email, owner.password);
    } finally {
      await stronger.close();
    }
  });

  it('should refuse a tenant the user is not a member of with the same 404 as a missing one', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    expectProblem(await logIn(t, a.email, a.password, { tenantId: b.tenantId }), 404, 'not_found');
    expectProblem(await logIn(t, a.email, a.password, { tenantId: 'ten_nonsense' }), 404, 'not_found');
  });

  it('should record sign-in successes and failures in the audit log with address and agent', async () => {
    const owner = await signUp(t);
    await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      remoteAddress: '127.9.9.9',
      headers: { 'user-agent': 'audit-test/1.0' },
      payload: { email: owner.email, password: 'wrong wrong wrong wrong' },
    });
    const ok = await signIn(t, owner.email, owner.password);
    const events = (await t.app.inject({ url: '/v1/audit-events', headers: bearer(ok.accessToken) })).json()
      .items;
    const failed = events.find((e: { action: string }) => e.action === 'auth.login_failed');
    expect(failed).toMatchObject({
      actor: { type: 'user', id: owner.userId },
      ip: '127.9.9.9',
      userAgent: 'audit-test/1.0',
      details: { reason: 'wrong_password' },
    });
    expect(events.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['auth.login_succeeded', 'tenant.created']),
    );
  });
});
