import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestApp } from './helper.ts';

/**
 * Shared steps of the accounts tests: sign up a tenant, sign in, build bearer headers, assert a
 * problem. Every call gets its own client address (127.x.y.z) unless told otherwise, so per-IP
 * credential limits of one test never throttle another in the same file.
 */
let ipCounter = 0;
const base = 1 + (process.pid % 200);
export function nextIp(): string {
  ipCounter++;
  return `127.${base}.${(ipCounter >> 8) & 0xff}.${ipCounter & 0xff || 1}`;
}

export const STRONG_PASSWORD = 'glacier tundra marmalade obelisk';
export const OTHER_PASSWORD = 'Vivid-Otter-Quarry-Lantern 7';

export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomUUID().slice(0, 8)}@acme.example`;
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

export function expectProblem(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.headers['content-type'], res.body).toBe('application/problem+json; charset=utf-8');
  const body = res.json() as Record<string, unknown>;
  expect(body, res.body).toMatchObject({ status, code, type: `/problems/${code}` });
  expect(res.statusCode).toBe(status);
  return body;
}

export interface SignedUp {
  email: string;
  password: string;
  userId: string;
  tenantId: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

export async function signUp(
  t: TestApp,
  options: { email?: string; password?: string; tenantName?: string } = {},
): Promise<SignedUp> {
  const email = options.email ?? uniqueEmail('owner');
  const password = options.password ?? STRONG_PASSWORD;
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/auth/signup',
    remoteAddress: nextIp(),
    payload: { email, password, tenantName: options.tenantName ?? `Tenant ${randomUUID().slice(0, 6)}` },
  });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json();
  return {
    email,
    password,
    userId: body.user.id,
    tenantId: body.tenant.id,
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    sessionId: body.sessionId,
  };
}

export async function logIn(
  t: TestApp,
  email: string,
  password: string,
  extra: { tenantId?: string; ip?: string } = {},
) {
  const { ip, ...body } = extra;
  return t.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    remoteAddress: ip ?? nextIp(),
    payload: { email, password, ...body },
  });
}

/** Signs in and returns the body of a successful (no second factor) sign-in. */
export async function signIn(t: TestApp, email: string, password: string, tenantId?: string) {
  const res = await logIn(t, email, password, tenantId ? { tenantId } : {});
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json();
  expect(body.status).toBe('authenticated');
  return body as {
    accessToken: string;
    refreshToken: string;
    sessionId: string;
    tenant: { id: string };
    restriction: string | null;
  };
}

/** An admin invites `email` with `role`; the invitee accepts; returns the invitee's password. */
export async function addMember(
  t: TestApp,
  admin: { accessToken: string },
  email: string,
  role: string,
  password = OTHER_PASSWORD,
) {
  const invite = await t.app.inject({
    method: 'POST',
    url: '/v1/invitations',
    headers: bearer(admin.accessToken),
    payload: { email, role },
  });
  expect(invite.statusCode, invite.body).toBe(201);
  const token = invitationToken(t, email);
  const accept = await t.app.inject({
    method: 'POST',
    url: '/v1/invitations/accept',
    remoteAddress: nextIp(),
    payload: { token, password },
  });
  expect(accept.statusCode, accept.body).toBe(200);
  return {
    password,
    invitationId: invite.json().id as string,
    membershipUserId: accept.json().userId as string,
  };
}

export function mailedToken(
  t: TestApp,
  to: string,
  kind: 'invitation' | 'password_reset',
  prefix: string,
): string {
  const message = t.container.mailer.lastTo(to, kind);
  expect(message, `no ${kind} mail to ${to}`).toBeDefined();
  const token = new RegExp(`${prefix}_[0-9a-z]+[\\w-]{43}`).exec(message!.text)?.[0];
  expect(token).toBeDefined();
  return token!;
}

export function invitationToken(t: TestApp, to: string): string {
  return mailedToken(t, to, 'invitation', 'mwi');
}

/** A TOTP code from Debian's oathtool, at now plus `stepOffset` steps. */
export function oathtoolCode(secret: string, stepOffset = 0): string {
  const at = new Date(Date.now() + stepOffset * 30_000);
  const when = at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  return execFileSync('oathtool', ['--totp', '-b', secret, '-N', when], { encoding: 'utf8' }).trim();
}

export async function gql(
  t: TestApp,
  query: string,
  options: { token?: string; variables?: Record<string, unknown>; ip?: string } = {},
) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/graphql',
    remoteAddress: options.ip ?? nextIp(),
    headers: options.token ? bearer(options.token) : {},
    payload: { query, variables: options.variables ?? {} },
  });
  return { status: res.statusCode, body: res.json(), res };
}
