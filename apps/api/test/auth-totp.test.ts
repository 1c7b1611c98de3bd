import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  bearer,
  expectProblem,
  logIn,
  nextIp,
  oathtoolCode,
  type SignedUp,
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

const post = (url: string, token: string | null, payload?: object) =>
  t.app.inject({
    method: 'POST',
    url,
    remoteAddress: nextIp(),
    headers: token ? bearer(token) : {},
    ...(payload ? { payload } : {}),
  });

/** Enrols an authenticator with a code of the current step; returns the secret and recovery codes. */
async function enrol(token: string) {
  const started = await post('/v1/auth/totp/enrolment', token);
  expect(started.statusCode, started.body).toBe(201);
  const { secret, otpauthUri, qrCodeDataUrl } = started.json();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  expect(otpauthUri).toContain(`secret=${secret}`);
  expect(qrCodeDataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
  const confirmed = await post('/v1/auth/totp/enrolment/confirm', token, { code: oathtoolCode(secret) });
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  return { secret, recoveryCodes: confirmed.json().recoveryCodes as string[] };
}

async function mfaToken(user: SignedUp) {
  const res = await logIn(t, user.email, user.password);
  expect(res.json().status).toBe('mfa_required');
  return res.json().mfaToken as string;
}

describe('TOTP enrolment and sign-in', () => {
  it('should enrol with an oathtool code, then ask for a second factor at sign-in', async () => {
    const owner = await signUp(t);
    const { secret, recoveryCodes } = await enrol(owner.accessToken);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    expect((await t.app.inject({ url: '/v1/auth/totp', headers: bearer(owner.accessToken) })).json()).toEqual(
      { enabled: true, enrolmentPending: false, recoveryCodesRemaining: 10 },
    );

    const login = await logIn(t, owner.email, owner.password);
    expect(login.json()).toEqual({ status: 'mfa_required', mfaToken: expect.any(String), expiresIn: 300 });
    // The mfa-pending token is no access token.
    expectProblem(
      await t.app.inject({ url: '/v1/me', headers: bearer(login.json().mfaToken) }),
      401,
      'invalid_token',
    );

    // The confirming code used this step; the next step's code (within the ±1 window) signs in.
    const code = oathtoolCode(secret, 1);
    const done = await post('/v1/auth/login/totp', null, { mfaToken: login.json().mfaToken, code });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ status: 'authenticated', restriction: null });

    // The same code again, with a fresh mfa token: replay refused, no session made.
    const sessionsBefore = (
      await t.app.inject({ url: '/v1/auth/sessions', headers: bearer(owner.accessToken) })
    ).json().length;
    const again = await post('/v1/auth/login/totp', null, { mfaToken: await mfaToken(owner), code });
    expectProblem(again, 400, 'totp_replayed');
    expect(
      (await t.app.inject({ url: '/v1/auth/sessions', headers: bearer(owner.accessToken) })).json(),
    ).toHaveLength(sessionsBefore);
  });

  it('should refuse a wrong code, and an mfa token used twice', async () => {
    const owner = await signUp(t);
    const { secret } = await enrol(owner.accessToken);
    const token = await mfaToken(owner);
    const wrong = String((Number(oathtoolCode(secret, 1)) + 1) % 1_000_000).padStart(6, '0');
    expectProblem(
      await post('/v1/auth/login/totp', null, { mfaToken: token, code: wrong }),
      400,
      'totp_invalid',
    );
    expectProblem(
      await post('/v1/auth/login/totp', null, { mfaToken: token, code: '12345' }),
      400,
      'validation_failed',
    );
    expect(
      (await post('/v1/auth/login/totp', null, { mfaToken: token, code: oathtoolCode(secret, 1) }))
        .statusCode,
    ).toBe(200);
    // The pending token is spent, even with a code that would otherwise be fine.
    expectProblem(
      await post('/v1/auth/login/recovery-code', null, {
        mfaToken: token,
        recoveryCode: '0000-0000-0000-0000',
      }),
      400,
      'recovery_code_invalid',
    );
  });

  it('should take each recovery code once', async () => {
    const owner = await signUp(t);
    const { recoveryCodes } = await enrol(owner.accessToken);
    const code = recoveryCodes[3]!;
    const first = await post('/v1/auth/login/recovery-code', null, {
      mfaToken: await mfaToken(owner),
      recoveryCode: code.toUpperCase(),
    });
    expect(first.statusCode, first.body).toBe(200);
    expectProblem(
      await post('/v1/auth/login/recovery-code', null, {
        mfaToken: await mfaToken(owner),
        recoveryCode: code,
      }),
      400,
      'recovery_code_invalid',
    );
    const status = (
      await t.app.inject({ url: '/v1/auth/totp', headers: bearer(first.json().accessToken) })
    ).json();
    expect(status.recoveryCodesRemaining).toBe(9);
  });

  it('should switch 2FA off only with the password, and record 2FA changes in the audit log', async () => {
    const owner = await signUp(t);
    await enrol(owner.accessToken);
    expectProblem(
      await post('/v1/auth/totp/disable', owner.accessToken, { password: 'not my password at all' }),
      401,
      'invalid_credentials',
    );
    expect(
      (await post('/v1/auth/totp/disable', owner.accessToken, { password: owner.password })).statusCode,
    ).toBe(204);
    expect((await logIn(t, owner.email, owner.password)).json().status).toBe('authenticated');
    const actions = (await t.app.inject({ url: '/v1/audit-events', headers: bearer(owner.accessToken) }))
      .json()
      .items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['mfa.enabled', 'mfa.disabled']));
  });

  it('should refuse a second enrolment while one is on', async () => {
    const owner = await signUp(t);
    await enrol(owner.accessToken);
    expectProblem(await post('/v1/auth/totp/enrolment', owner.accessToken), 409, 'conflict');
  });
});

describe('a tenant that requires 2FA', () => {
  it('should let a member without 2FA do nothing but enrol, then everything', async () => {
    const owner = await signUp(t);
    const email = uniqueEmail('member');
    const { password } = await addMember(t, owner, email, 'member');
    const require = () =>
      t.app.inject({
        method: 'PATCH',
        url: '/v1/tenant/settings',
        headers: bearer(owner.accessToken),
        payload: { requireMfa: true },
      });
    // Whoever switches the rule on must have 2FA first, or they would lock themselves out.
    expectProblem(await require(), 409, 'conflict');
    await enrol(owner.accessToken);
    expect((await require()).json().requireMfa).toBe(true);

    const member = await signIn(t, email, password);
    expect(member.restriction).toBe('mfa_enrolment');
    expectProblem(
      await t.app.inject({ url: '/v1/members', headers: bearer(member.accessToken) }),
      403,
      'mfa_enrolment_required',
    );
    expect(
      (await t.app.inject({ url: '/v1/me', headers: bearer(member.accessToken) })).json().restriction,
    ).toBe('mfa_enrolment');

    await enrol(member.accessToken);
    expect((await t.app.inject({ url: '/v1/members', headers: bearer(member.accessToken) })).statusCode).toBe(
      200,
    );
    // And with 2FA on, it cannot be switched off while the tenant requires it.
    expectProblem(await post('/v1/auth/totp/disable', member.accessToken, { password }), 409, 'conflict');
  });

  it('should restrict sessions opened before the rule at once', async () => {
    const owner = await signUp(t);
    const email = uniqueEmail('early');
    const { password } = await addMember(t, owner, email, 'viewer');
    const member = await signIn(t, email, password);
    expect((await t.app.inject({ url: '/v1/members', headers: bearer(member.accessToken) })).statusCode).toBe(
      200,
    );
    await enrol(owner.accessToken);
    await t.app.inject({
      method: 'PATCH',
      url: '/v1/tenant/settings',
      headers: bearer(owner.accessToken),
      payload: { requireMfa: true },
    });
    expectProblem(
      await t.app.inject({ url: '/v1/members', headers: bearer(member.accessToken) }),
      403,
      'mfa_enrolment_required',
    );
  });
});
