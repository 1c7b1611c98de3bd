/**
 * Hostile and malformed requests to the credential routes: each gets a 4xx problem+json with a
 * stable code, changes nothing, and leaves no secret in the logs. (Token forgeries, refresh reuse,
 * TOTP replay and recovery-code reuse have their own tests in auth-sessions and auth-totp; they
 * are repeated here in one table so the list of the issue reads in one place.)
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { loggerOptions } from '@mailwarden/core';
import { openTestDatabase } from '@mailwarden/testing';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadApiConfig } from '../src/config.ts';
import { createApiContainer } from '../src/container.ts';
import { fastifyOptions } from '../src/fastify-options.ts';
import { bearer, expectProblem, nextIp, oathtoolCode, type SignedUp, signUp } from './auth-helpers.ts';
import { type TestApp, waitForRedis } from './helper.ts';

const logLines: string[] = [];
let t: TestApp;
let owner: SignedUp;
let totpUser: SignedUp & { secret: string; recoveryCode: string; usedCode: string };
const { pool, db } = openTestDatabase();

/** The real app, logging at debug level into memory so the test can read every line. */
async function buildLoggingApp(): Promise<TestApp> {
  const config = loadApiConfig({
    MAILWARDEN_ENV: 'test',
    LOG_LEVEL: 'debug',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_KEY_PREFIX: `test-${randomUUID()}`,
    DNS_SERVERS: '127.0.0.1:9',
    BODY_LIMIT_BYTES: '4096',
  });
  const container = createApiContainer(config);
  await waitForRedis(container.redis);
  const stream = new Writable({
    write(chunk, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const app = Fastify({ ...fastifyOptions(config), logger: { ...loggerOptions('debug', 'api'), stream } });
  await app.register(buildApp(config, container));
  await app.ready();
  return {
    app,
    config,
    container,
    close: async () => {
      await app.close();
      await container.close();
    },
  };
}

/** What a refused request must leave as it was: accounts, passwords, 2FA state (not sessions: a reused refresh token ends its family by design). */
async function counts() {
  const emails = [owner.email, totpUser.email, 'big@acme.example', 'new@acme.example'].map((e) =>
    e.toLowerCase(),
  );
  const { rows } = await db.execute(sql`
    select lower(u.email) as email, c.password_hash, t.last_used_step, t.confirmed_at,
           (select count(*)::int from recovery_codes r where r.user_id = u.id and r.used_at is null) as unused_codes
      from users u left join user_credentials c on c.user_id = u.id left join user_totp t on t.user_id = u.id
     where lower(u.email) in (${sql.join(
       emails.map((e) => sql`${e}`),
       sql`, `,
     )}) order by 1`);
  return rows;
}

beforeAll(async () => {
  t = await buildLoggingApp();
  owner = await signUp(t);
  const user = await signUp(t);
  const start = (
    await t.app.inject({ method: 'POST', url: '/v1/auth/totp/enrolment', headers: bearer(user.accessToken) })
  ).json();
  const codes = (
    await t.app.inject({
      method: 'POST',
      url: '/v1/auth/totp/enrolment/confirm',
      headers: bearer(user.accessToken),
      payload: { code: oathtoolCode(start.secret) },
    })
  ).json().recoveryCodes;
  const mfa = (
    await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      remoteAddress: nextIp(),
      payload: { email: user.email, password: user.password },
    })
  ).json().mfaToken;
  const usedCode = oathtoolCode(start.secret, 1);
  await t.app.inject({
    method: 'POST',
    url: '/v1/auth/login/totp',
    remoteAddress: nextIp(),
    payload: { mfaToken: mfa, code: usedCode },
  });
  const mfa2 = (
    await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      remoteAddress: nextIp(),
      payload: { email: user.email, password: user.password },
    })
  ).json().mfaToken;
  await t.app.inject({
    method: 'POST',
    url: '/v1/auth/login/recovery-code',
    remoteAddress: nextIp(),
    payload: { mfaToken: mfa2, recoveryCode: codes[0] },
  });
  totpUser = { ...user, secret: start.secret, recoveryCode: codes[0], usedCode };
});
afterAll(async () => {
  await t.close();
  await pool.end();
});

interface Case {
  name: string;
  request: () => Promise<Parameters<TestApp['app']['inject']>[0]>;
  status: number;
  code: string;
}

const SECRET_PASSWORD = 'Hunter2-Correct-Stapler-9';
const json = { 'content-type': 'application/json' };
const cases: Case[] = [
  {
    name: 'malformed JSON',
    status: 400,
    code: 'bad_request',
    request: async () => ({
      method: 'POST',
      url: '/v1/auth/login',
      headers: json,
      payload: `{"email":"${owner.email}","password":"${SECRET_PASSWORD}"`,
    }),
  },
  {
    name: 'empty JSON body',
    status: 400,
    code: 'bad_request',
    request: async () => ({ method: 'POST', url: '/v1/auth/login', headers: json, payload: '' }),
  },
  {
    name: 'oversized body',
    status: 413,
    code: 'payload_too_large',
    request: async () => ({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: 'big@acme.example', password: SECRET_PASSWORD.repeat(400), tenantName: 'x' },
    }),
  },
  {
    name: 'wrong content type',
    status: 415,
    code: 'unsupported_media_type',
    request: async () => ({
      method: 'POST',
      url: '/v1/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `email=${owner.email}&password=${SECRET_PASSWORD}`,
    }),
  },
  {
    name: 'unknown field',
    status: 400,
    code: 'validation_failed',
    request: async () => ({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: 'new@acme.example', password: SECRET_PASSWORD, tenantName: 'x', role: 'owner' },
    }),
  },
  {
    name: 'unknown nested field',
    status: 400,
    code: 'validation_failed',
    request: async () => ({
      method: 'PATCH',
      url: '/v1/tenant/settings',
      headers: bearer(owner.accessToken),
      payload: { passwordPolicy: { minLength: 20, bypass: true } },
    }),
  },
  {
    name: 'wrong type',
    status: 400,
    code: 'validation_failed',
    request: async () => ({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: owner.email, password: { $ne: null } },
    }),
  },
  {
    name: 'not an e-mail address',
    status: 400,
    code: 'validation_failed',
    request: async () => ({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: "' or 1=1 --", password: SECRET_PASSWORD },
    }),
  },
  {
    name: 'wrong password',
    status: 401,
    code: 'invalid_credentials',
    request: async () => ({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: owner.email, password: SECRET_PASSWORD },
    }),
  },
  {
    name: 'alg none token',
    status: 401,
    code: 'invalid_token',
    request: async () => ({
      url: '/v1/me',
      headers: bearer(
        `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${owner.accessToken.split('.')[1]}.`,
      ),
    }),
  },
  {
    name: 'reused refresh token',
    status: 401,
    code: 'refresh_token_reused',
    request: async () => {
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/token',
        remoteAddress: nextIp(),
        payload: { refreshToken: owner.refreshToken },
      });
      return { method: 'POST', url: '/v1/auth/token', payload: { refreshToken: owner.refreshToken } };
    },
  },
  {
    name: 'replayed TOTP code',
    status: 400,
    code: 'totp_replayed',
    request: async () => {
      const mfa = (
        await t.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          remoteAddress: nextIp(),
          payload: { email: totpUser.email, password: totpUser.password },
        })
      ).json().mfaToken;
      return {
        method: 'POST',
        url: '/v1/auth/login/totp',
        payload: { mfaToken: mfa, code: totpUser.usedCode },
      };
    },
  },
  {
    name: 'reused recovery code',
    status: 400,
    code: 'recovery_code_invalid',
    request: async () => {
      const mfa = (
        await t.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          remoteAddress: nextIp(),
          payload: { email: totpUser.email, password: totpUser.password },
        })
      ).json().mfaToken;
      return {
        method: 'POST',
        url: '/v1/auth/login/recovery-code',
        payload: { mfaToken: mfa, recoveryCode: totpUser.recoveryCode },
      };
    },
  },
];

describe('bad input to the credential routes', () => {
  it.each(cases)(
    'should answer $name with $status $code and change nothing',
    async ({ request, status, code }) => {
      const options = await request();
      const before = await counts();
      const res = await t.app.inject({ remoteAddress: nextIp(), ...(options as object) });
      expectProblem(res, status, code);
      expect(await counts()).toEqual(before);
    },
  );

  it('should keep passwords, tokens and codes out of every log line', async () => {
    const text = logLines.join('');
    expect(text).toContain('request refused');
    for (const secret of [
      SECRET_PASSWORD,
      owner.password,
      owner.refreshToken,
      owner.accessToken,
      totpUser.secret,
      totpUser.recoveryCode,
      totpUser.password,
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
