import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, oathtoolCode, STRONG_PASSWORD, uniqueEmail } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const SIGN_UP =
  'mutation ($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken tenant { id name role } } }';
const LOGIN =
  'mutation ($input: LoginInput!) { login(input: $input) { status mfaToken mfaTokenExpiresIn signedIn { accessToken tenant { id } restriction } } }';

describe('accounts over GraphQL', () => {
  it('should sign up, sign in and answer me with the same principal as REST', async () => {
    const email = uniqueEmail('gql');
    const up = await gql(t, SIGN_UP, {
      variables: { input: { email, password: STRONG_PASSWORD, tenantName: 'Graph Co' } },
    });
    expect(up.body.data.signUp.tenant).toMatchObject({ name: 'Graph Co', role: 'owner' });
    const login = await gql(t, LOGIN, { variables: { input: { email, password: STRONG_PASSWORD } } });
    expect(login.body.data.login).toMatchObject({
      status: 'authenticated',
      mfaToken: null,
      signedIn: { tenant: { id: up.body.data.signUp.tenant.id }, restriction: null },
    });
    const token = login.body.data.login.signedIn.accessToken;
    const me = await gql(t, '{ me { email mfaEnabled tenant { role } } }', { token });
    expect(me.body.data.me).toEqual({ email, mfaEnabled: false, tenant: { role: 'owner' } });
    const rest = await t.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
    expect(rest.json().user.email).toBe(email);
  });

  it('should refuse private fields without credentials, and with bad ones at the door', async () => {
    const anonymous = await gql(t, '{ me { email } }');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors[0].extensions.code).toBe('unauthenticated');
    // Public fields still answer without credentials.
    expect((await gql(t, '{ meta { service } }')).body.data.meta.service).toBe('mailwarden');
    const forged = await gql(t, '{ meta { service } }', { token: 'not.a.token' });
    expect(forged.status).toBe(401);
    // GraphQL clients get their own error shape, with the same code as REST.
    expect(forged.body.errors[0].extensions.code).toBe('invalid_token');
  });

  it('should complete a 2FA sign-in with a TOTP code and refuse its replay', async () => {
    const email = uniqueEmail('gql2fa');
    const up = (
      await gql(t, SIGN_UP, {
        variables: { input: { email, password: STRONG_PASSWORD, tenantName: 'Two Factor Co' } },
      })
    ).body.data.signUp;
    const bearer = { authorization: `Bearer ${up.accessToken}` };
    const { secret } = (
      await t.app.inject({ method: 'POST', url: '/v1/auth/totp/enrolment', headers: bearer })
    ).json();
    await t.app.inject({
      method: 'POST',
      url: '/v1/auth/totp/enrolment/confirm',
      headers: bearer,
      payload: { code: oathtoolCode(secret) },
    });
    const step = async () =>
      (await gql(t, LOGIN, { variables: { input: { email, password: STRONG_PASSWORD } } })).body.data.login;
    const first = await step();
    expect(first).toMatchObject({ status: 'mfa_required', mfaTokenExpiresIn: 300, signedIn: null });
    const code = oathtoolCode(secret, 1);
    const complete =
      'mutation ($t: String!, $c: String!) { completeLoginWithTotp(mfaToken: $t, code: $c) { accessToken } }';
    const ok = await gql(t, complete, { variables: { t: first.mfaToken, c: code } });
    expect(ok.body.data.completeLoginWithTotp.accessToken).toEqual(expect.any(String));
    const replay = await gql(t, complete, { variables: { t: (await step()).mfaToken, c: code } });
    expect(replay.body.errors[0].extensions.code).toBe('totp_replayed');
  });
});
