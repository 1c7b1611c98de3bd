/**
 * GraphQL does what REST does for accounts: every REST operation of issue 3 has its GraphQL field,
 * answering with the same error codes, writing the same audit events and counting against the same
 * limits (aliases included). REST drives the set-up where that is shorter; each assertion is on
 * the GraphQL side.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialLimits } from '../src/plugins/auth-rate-limit.ts';
import {
  addMember,
  bearer,
  expectProblem,
  gql,
  invitationToken,
  mailedToken,
  nextIp,
  OTHER_PASSWORD,
  oathtoolCode,
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

const codes = (body: { errors?: Array<{ extensions: { code: string } }> }) =>
  (body.errors ?? []).map((e) => e.extensions.code);
const me = (token: string) => t.app.inject({ url: '/v1/me', headers: bearer(token) });
const auditActions = async (token: string) =>
  (await t.app.inject({ url: '/v1/audit-events?limit=100', headers: bearer(token) }))
    .json()
    .items.map((e: { action: string }) => e.action) as string[];

/**
 * REST operations and the GraphQL field that does the same. A REST operation added later without
 * a GraphQL twin fails the first test until it is added here (or to `restOnly`, with a reason).
 */
const twins: Record<string, string> = {
  signUp: 'Mutation.signUp',
  logIn: 'Mutation.login',
  completeLoginWithTotp: 'Mutation.completeLoginWithTotp',
  completeLoginWithRecoveryCode: 'Mutation.completeLoginWithRecoveryCode',
  refreshSession: 'Mutation.refreshSession',
  logOut: 'Mutation.logOut',
  logOutEverywhere: 'Mutation.logOutEverywhere',
  switchTenant: 'Mutation.switchTenant',
  getMe: 'Query.me',
  changePassword: 'Mutation.changePassword',
  requestPasswordReset: 'Mutation.requestPasswordReset',
  resetPassword: 'Mutation.resetPassword',
  listSessions: 'Query.sessions',
  revokeSession: 'Mutation.revokeSession',
  getTotpStatus: 'Query.totpStatus',
  startTotpEnrolment: 'Mutation.startTotpEnrolment',
  confirmTotpEnrolment: 'Mutation.confirmTotpEnrolment',
  regenerateRecoveryCodes: 'Mutation.regenerateRecoveryCodes',
  disableTotp: 'Mutation.disableTotp',
  getTenant: 'Query.tenant',
  updateTenantSettings: 'Mutation.updateTenantSettings',
  getMonitoringSettings: 'Query.monitoringSettings',
  updateMonitoringSettings: 'Mutation.updateMonitoringSettings',
  listMembers: 'Query.members',
  getMember: 'Query.member',
  updateMember: 'Mutation.updateMemberRole',
  removeMember: 'Mutation.removeMember',
  createInvitation: 'Mutation.createInvitation',
  listInvitations: 'Query.invitations',
  revokeInvitation: 'Mutation.revokeInvitation',
  acceptInvitation: 'Mutation.acceptInvitation',
  createApiKey: 'Mutation.createApiKey',
  listApiKeys: 'Query.apiKeys',
  getApiKey: 'Query.apiKey',
  updateApiKey: 'Mutation.renameApiKey',
  revokeApiKey: 'Mutation.revokeApiKey',
  listAuditEvents: 'Query.auditEvents',
};
/** REST operations with no GraphQL twin on purpose. */
const restOnly: Record<string, string> = {
  getJwks: 'a well-known HTTP document for token verifiers (/.well-known/jwks.json), not an API call',
  exportTenant: 'a GDPR export is one JSON document to download and keep, not a graph to query',
  deleteTenant:
    'deleting a tenant and all its data is a deliberate owner action with a typed confirmation, kept off the dashboard API',
};
const accountTags = new Set(['auth', 'two-factor', 'tenant', 'members', 'api-keys', 'audit']);

describe('GraphQL parity with REST for accounts', () => {
  it('should have a GraphQL field for every accounts operation of the REST API', async () => {
    const spec = t.app.swagger() as {
      paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>>;
    };
    const rest = Object.values(spec.paths)
      .flatMap((methods) => Object.values(methods))
      .filter((op) => op.operationId && op.tags?.some((tag) => accountTags.has(tag)))
      .map((op) => op.operationId!);
    expect(rest.filter((id) => !twins[id] && !restOnly[id])).toEqual([]);
    const { body } = await gql(
      t,
      '{ q: __type(name: "Query") { fields { name } } m: __type(name: "Mutation") { fields { name } } }',
    );
    const fields = new Set([
      ...body.data.q.fields.map((f: { name: string }) => `Query.${f.name}`),
      ...body.data.m.fields.map((f: { name: string }) => `Mutation.${f.name}`),
    ]);
    expect(Object.values(twins).filter((field) => !fields.has(field))).toEqual([]);
  });

  it('should change the password with the current one, end the other sessions and audit both outcomes', async () => {
    const owner = await signUp(t);
    const other = await signIn(t, owner.email, owner.password);
    const change = (current: string) =>
      gql(t, 'mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }', {
        token: owner.accessToken,
        variables: { c: current, n: OTHER_PASSWORD },
      });
    expect(codes((await change('not my password at all')).body)).toEqual(['invalid_credentials']);
    expect((await change(owner.password)).body.data.changePassword).toBe(true);
    expectProblem(await me(other.accessToken), 401, 'session_revoked');
    expect((await me(owner.accessToken)).statusCode).toBe(200);
    expect(await auditActions(owner.accessToken)).toEqual(
      expect.arrayContaining(['auth.reauthentication_failed', 'auth.password_changed']),
    );
    expect((await signIn(t, owner.email, OTHER_PASSWORD)).accessToken).toEqual(expect.any(String));
  });

  it('should reset a forgotten password with the mailed token, once', async () => {
    const owner = await signUp(t);
    const ip = nextIp();
    const request = await gql(t, 'mutation ($e: String!) { requestPasswordReset(email: $e) }', {
      variables: { e: owner.email },
      ip,
    });
    expect(request.body.data.requestPasswordReset).toBe(true);
    const token = mailedToken(t, owner.email, 'password_reset', 'mwp');
    const reset = (newPassword: string) =>
      gql(t, 'mutation ($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }', {
        variables: { t: token, p: newPassword },
        ip,
      });
    const weak = await reset('short');
    expect(codes(weak.body), JSON.stringify(weak.body)).toEqual(['password_policy']);
    expect((await reset(OTHER_PASSWORD)).body.data.resetPassword).toBe(true);
    expect(codes((await reset(OTHER_PASSWORD)).body)).toEqual(['invalid_token']);
    expectProblem(await me(owner.accessToken), 401, 'session_revoked');
    const fresh = await signIn(t, owner.email, OTHER_PASSWORD);
    expect(await auditActions(fresh.accessToken)).toContain('auth.password_reset');
    // Unknown addresses get the same answer.
    const unknown = await gql(t, 'mutation { requestPasswordReset(email: "nobody-here@acme.example") }');
    expect(unknown.body).toEqual({ data: { requestPasswordReset: true } });
  });

  it('should count every aliased reset attempt against the per-address limit REST uses', async () => {
    const ip = nextIp();
    const { max } = credentialLimits.passwordReset;
    const aliases = Array.from(
      { length: max + 2 },
      (_, i) => `r${i}: resetPassword(token: "mwp_${'0'.repeat(26)}${'A'.repeat(43)}", newPassword: "x")`,
    );
    const { body } = await gql(t, `mutation { ${aliases.join('\n')} }`, { ip });
    const seen = codes(body);
    expect(seen).toHaveLength(max + 2);
    expect(seen.slice(0, max).every((c) => c === 'password_policy' || c === 'invalid_token')).toBe(true);
    expect(seen.slice(max)).toEqual(['rate_limited', 'rate_limited']);
    // One counter for both transports: REST from that address is over the limit too.
    expectProblem(
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/password/reset-request',
        remoteAddress: ip,
        payload: { email: uniqueEmail() },
      }),
      429,
      'rate_limited',
    );
  });

  it('should rotate refresh tokens and end the family on reuse', async () => {
    const owner = await signUp(t);
    const refresh = (token: string) =>
      gql(
        t,
        'mutation ($r: String!) { refreshSession(refreshToken: $r) { accessToken refreshToken sessionId } }',
        {
          variables: { r: token },
        },
      );
    const first = (await refresh(owner.refreshToken)).body.data.refreshSession;
    expect(first.sessionId).toBe(owner.sessionId);
    expect(codes((await refresh(owner.refreshToken)).body)).toEqual(['refresh_token_reused']);
    expect(codes((await refresh(first.refreshToken)).body)).toEqual(['session_revoked']);
    expect(codes((await refresh('not a token')).body)).toEqual(['invalid_token']);
    expect(await auditActions((await signIn(t, owner.email, owner.password)).accessToken)).toContain(
      'session.refresh_token_reused',
    );
  });

  it('should list, revoke and end sessions, and refuse API keys like REST', async () => {
    const owner = await signUp(t);
    const second = await signIn(t, owner.email, owner.password);
    const third = await signIn(t, owner.email, owner.password);
    const list = await gql(t, '{ sessions { id current } }', { token: second.accessToken });
    expect(list.body.data.sessions).toHaveLength(3);
    const revoke = await gql(t, `mutation { revokeSession(id: "${owner.sessionId}") }`, {
      token: second.accessToken,
    });
    expect(revoke.body.data.revokeSession).toBe(true);
    expectProblem(await me(owner.accessToken), 401, 'session_revoked');
    const missing = await gql(t, `mutation { revokeSession(id: "ses_${'0'.repeat(26)}") }`, {
      token: second.accessToken,
    });
    expect(codes(missing.body)).toEqual(['not_found']);
    expect((await gql(t, 'mutation { logOut }', { token: third.accessToken })).body.data.logOut).toBe(true);
    expectProblem(await me(third.accessToken), 401, 'session_revoked');
    const key = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: bearer(second.accessToken),
        payload: { name: 'k', scopes: ['admin'] },
      })
    ).json().key;
    for (const query of ['{ sessions { id } }', 'mutation { logOut }', '{ totpStatus { enabled } }']) {
      expect(codes((await gql(t, query, { token: key })).body), query).toEqual(['unauthenticated']);
    }
    const everywhere = await gql(t, 'mutation { logOutEverywhere { revokedSessions } }', {
      token: second.accessToken,
    });
    expect(everywhere.body.data.logOutEverywhere).toEqual({ revokedSessions: 1 });
    expectProblem(await me(second.accessToken), 401, 'session_revoked');
  });

  it('should switch tenant, and find no tenant the user is not in', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const email = uniqueEmail('partner');
    const { password } = await addMember(t, a, email, 'admin');
    await addMember(t, b, email, 'viewer', password);
    const inA = await signIn(t, email, password, a.tenantId);
    const switched = await gql(
      t,
      'mutation ($id: ID!) { switchTenant(tenantId: $id) { accessToken tenant { id role } } }',
      { token: inA.accessToken, variables: { id: b.tenantId } },
    );
    expect(switched.body.data.switchTenant.tenant).toEqual({ id: b.tenantId, role: 'viewer' });
    const other = await signUp(t);
    const refused = await gql(t, `mutation { switchTenant(tenantId: "${other.tenantId}") { accessToken } }`, {
      token: inA.accessToken,
    });
    expect(codes(refused.body)).toEqual(['not_found']);
  });

  it('should enrol, use and switch off TOTP, with REST error codes and audit events', async () => {
    const owner = await signUp(t);
    const token = owner.accessToken;
    const start = await gql(t, 'mutation { startTotpEnrolment { secret otpauthUri qrCodeDataUrl } }', {
      token,
    });
    const { secret, otpauthUri, qrCodeDataUrl } = start.body.data.startTotpEnrolment;
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    expect(qrCodeDataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
    const confirm = (code: string) =>
      gql(t, 'mutation ($c: String!) { confirmTotpEnrolment(code: $c) { recoveryCodes } }', {
        token,
        variables: { c: code },
      });
    expect(codes((await confirm('12ab56')).body)).toEqual(['validation_failed']);
    const code = oathtoolCode(secret);
    const wrong = code === '000000' ? '111111' : '000000';
    expect(codes((await confirm(wrong)).body)).toEqual(['totp_invalid']);
    expect((await confirm(code)).body.data.confirmTotpEnrolment.recoveryCodes).toHaveLength(10);
    expect((await gql(t, '{ totpStatus { enabled recoveryCodesRemaining } }', { token })).body.data).toEqual({
      totpStatus: { enabled: true, recoveryCodesRemaining: 10 },
    });
    const regenerate = (c: string) =>
      gql(t, 'mutation ($c: String!) { regenerateRecoveryCodes(code: $c) { recoveryCodes } }', {
        token,
        variables: { c },
      });
    expect(codes((await regenerate(code)).body)).toEqual(['totp_replayed']);
    expect(
      (await regenerate(oathtoolCode(secret, 1))).body.data.regenerateRecoveryCodes.recoveryCodes,
    ).toHaveLength(10);
    const disable = (password: string) =>
      gql(t, 'mutation ($p: String!) { disableTotp(password: $p) }', { token, variables: { p: password } });
    expect(codes((await disable('not the password at all')).body)).toEqual(['invalid_credentials']);
    expect((await disable(owner.password)).body.data.disableTotp).toBe(true);
    expect(await auditActions(token)).toEqual(
      expect.arrayContaining([
        'mfa.enabled',
        'mfa.recovery_codes_regenerated',
        'mfa.disabled',
        'auth.reauthentication_failed',
      ]),
    );
  });

  it('should hold back TOTP codes guessed through a session like second-factor sign-in attempts', async () => {
    const owner = await signUp(t);
    const start = await gql(t, 'mutation { startTotpEnrolment { secret } }', { token: owner.accessToken });
    const code = oathtoolCode(start.body.data.startTotpEnrolment.secret);
    const wrong = code === '000000' ? '111111' : '000000';
    const ip = nextIp();
    const { freeFailures } = (await import('@mailwarden/auth')).attemptPolicies.secondFactor.perAccountAndIp;
    const aliases = Array.from(
      { length: freeFailures + 2 },
      (_, i) => `c${i}: confirmTotpEnrolment(code: "${wrong}") { recoveryCodes }`,
    );
    const { body } = await gql(t, `mutation { ${aliases.join('\n')} }`, { token: owner.accessToken, ip });
    expect(codes(body)).toEqual([...Array(freeFailures + 1).fill('totp_invalid'), 'rate_limited']);
  });

  it('should list, revoke and accept invitations', async () => {
    const owner = await signUp(t);
    const token = owner.accessToken;
    const create = (email: string) =>
      gql(t, 'mutation ($e: String!) { createInvitation(email: $e, role: member) { id status } }', {
        token,
        variables: { e: email },
      });
    const revokedEmail = uniqueEmail('revoked');
    const revokedInvite = (await create(revokedEmail)).body.data.createInvitation;
    const revokedToken = invitationToken(t, revokedEmail);
    const revoked = await gql(t, `mutation { revokeInvitation(id: "${revokedInvite.id}") { id status } }`, {
      token,
    });
    expect(revoked.body.data.revokeInvitation).toEqual({ id: revokedInvite.id, status: 'revoked' });
    const joinerEmail = uniqueEmail('joiner');
    await create(joinerEmail);
    const accept = (invitation: string) =>
      gql(
        t,
        'mutation ($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { tenant { id } email role } }',
        { variables: { i: { token: invitation, password: STRONG_PASSWORD, displayName: 'Jo' } } },
      );
    expect(codes((await accept(revokedToken)).body)).toEqual(['invalid_token']);
    const joined = await accept(invitationToken(t, joinerEmail));
    expect(joined.body.data.acceptInvitation).toEqual({
      tenant: { id: owner.tenantId },
      email: joinerEmail,
      role: 'member',
    });
    const list = await gql(t, '{ invitations { email status } }', { token });
    expect(list.body.data.invitations).toEqual(
      expect.arrayContaining([
        { email: revokedEmail, status: 'revoked' },
        { email: joinerEmail, status: 'accepted' },
      ]),
    );
    expect(await auditActions(token)).toEqual(
      expect.arrayContaining(['invitation.created', 'invitation.revoked', 'member.joined']),
    );
  });

  it('should set the password policy and the 2FA rule, validated like REST', async () => {
    const owner = await signUp(t);
    const update = (input: Record<string, unknown>) =>
      gql(
        t,
        'mutation ($i: TenantSettingsInput!) { updateTenantSettings(input: $i) { requireMfa passwordPolicy { minLength requiredClasses historyCount } } }',
        { token: owner.accessToken, variables: { i: input } },
      );
    expect(codes((await update({ passwordMinLength: 8 })).body)).toEqual(['validation_failed']);
    expect(codes((await update({ passwordRequiredClasses: ['emoji'] })).body)).toEqual(['validation_failed']);
    // Switching 2FA on needs it on the caller's own session first (so they are not locked out).
    expect(codes((await update({ requireMfa: true })).body)).toEqual(['conflict']);
    const ok = await update({
      passwordMinLength: 20,
      passwordRequiredClasses: ['digit'],
      passwordHistoryCount: 3,
    });
    expect(ok.body.data.updateTenantSettings).toEqual({
      requireMfa: false,
      passwordPolicy: { minLength: 20, requiredClasses: ['digit'], historyCount: 3 },
    });
    expect(await auditActions(owner.accessToken)).toContain('tenant.settings_updated');
  });

  it('should let a session restricted to 2FA enrolment reach only what REST lets it', async () => {
    const owner = await signUp(t);
    const email = uniqueEmail('member');
    const { password } = await addMember(t, owner, email, 'member');
    // The owner turns the rule on after enrolling (REST for the set-up).
    const { secret } = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/totp/enrolment',
        headers: bearer(owner.accessToken),
      })
    ).json();
    await t.app.inject({
      method: 'POST',
      url: '/v1/auth/totp/enrolment/confirm',
      headers: bearer(owner.accessToken),
      payload: { code: oathtoolCode(secret) },
    });
    await t.app.inject({
      method: 'PATCH',
      url: '/v1/tenant/settings',
      headers: bearer(owner.accessToken),
      payload: { requireMfa: true },
    });
    const member = await signIn(t, email, password);
    expect(member.restriction).toBe('mfa_enrolment');
    const token = member.accessToken;
    expect((await gql(t, '{ totpStatus { enabled } me { restriction } }', { token })).body.data).toEqual({
      totpStatus: { enabled: false },
      me: { restriction: 'mfa_enrolment' },
    });
    for (const query of [
      '{ sessions { id } }',
      '{ members { id } }',
      'mutation { logOutEverywhere { revokedSessions } }',
    ]) {
      const { body } = await gql(t, query, { token });
      const expected = query.includes('logOutEverywhere') ? [] : ['mfa_enrolment_required'];
      expect(codes(body), query).toEqual(expected);
    }
  });

  it('should refuse malformed credentials before any service runs', async () => {
    const login = await gql(
      t,
      'mutation { login(input: {email: "not-an-address", password: "x"}) { status } }',
    );
    expect(codes(login.body)).toEqual(['validation_failed']);
    const huge = await gql(t, 'mutation ($t: String!) { refreshSession(refreshToken: $t) { accessToken } }', {
      variables: { t: `mwr_${'a'.repeat(300)}` },
    });
    expect(codes(huge.body)).toEqual(['validation_failed']);
  });
});
