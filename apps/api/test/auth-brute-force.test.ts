import { attemptPolicies } from '@mailwarden/auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, gql, logIn, nextIp, signUp, uniqueEmail } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('brute-force limits', () => {
  it('should back off one account guessed from one address, and not lock the owner out elsewhere', async () => {
    const owner = await signUp(t);
    const attacker = nextIp();
    const free = attemptPolicies.login.perAccountAndIp.freeFailures;
    for (let i = 0; i <= free; i++)
      expectProblem(
        await logIn(t, owner.email, `wrong guess number ${i}`, { ip: attacker }),
        401,
        'invalid_credentials',
      );
    const refused = expectProblem(
      await logIn(t, owner.email, owner.password, { ip: attacker }),
      429,
      'rate_limited',
    );
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    // Even the right password is refused from there while the backoff lasts; from the owner's own address it works.
    const own = await logIn(t, owner.email, owner.password);
    expect(own.statusCode).toBe(200);
  });

  it('should treat unknown addresses the same way (no way to tell them apart by the limits)', async () => {
    const ghost = uniqueEmail('ghost');
    const ip = nextIp();
    for (let i = 0; i <= attemptPolicies.login.perAccountAndIp.freeFailures; i++)
      expectProblem(await logIn(t, ghost, 'some password guess', { ip }), 401, 'invalid_credentials');
    expectProblem(await logIn(t, ghost, 'some password guess', { ip }), 429, 'rate_limited');
  });

  it('should cap sign-in attempts per address across many accounts', async () => {
    const ip = nextIp();
    const { limit } = attemptPolicies.login.perIp;
    for (let i = 0; i < limit; i++)
      expect((await logIn(t, uniqueEmail('spray'), 'Summer2026!Summer', { ip })).statusCode).toBe(401);
    expectProblem(await logIn(t, uniqueEmail('spray'), 'Summer2026!Summer', { ip }), 429, 'rate_limited');
  });

  it('should count every aliased sign-in of one GraphQL request', async () => {
    const owner = await signUp(t);
    const ip = nextIp();
    const aliases = Array.from(
      { length: 12 },
      (_, i) =>
        `a${i}: login(input: {email: "${owner.email}", password: "guess ${i} guess ${i}"}) { status }`,
    );
    const { body } = await gql(t, `mutation { ${aliases.join('\n')} }`, { ip });
    const codes = body.errors.map((e: { extensions: { code: string } }) => e.extensions.code);
    expect(codes).toHaveLength(12);
    const free = attemptPolicies.login.perAccountAndIp.freeFailures;
    expect(codes.slice(0, free + 1)).toEqual(Array(free + 1).fill('invalid_credentials'));
    expect(codes.slice(free + 1)).toEqual(Array(12 - free - 1).fill('rate_limited'));
    // The same account from the same address over REST is held back too.
    expectProblem(await logIn(t, owner.email, owner.password, { ip }), 429, 'rate_limited');
  });

  it('should fail closed on credential routes when Redis is gone, while other routes carry on', async () => {
    const broken = await buildTestApp();
    try {
      const owner = await signUp(broken);
      broken.container.redis.disconnect();
      expectProblem(await logIn(broken, owner.email, owner.password), 503, 'service_unavailable');
      expectProblem(
        await broken.app.inject({
          method: 'POST',
          url: '/v1/auth/signup',
          remoteAddress: nextIp(),
          payload: { email: uniqueEmail(), password: 'glacier tundra marmalade obelisk', tenantName: 'x' },
        }),
        503,
        'service_unavailable',
      );
      const { body } = await gql(
        broken,
        `mutation { login(input: {email: "${owner.email}", password: "${owner.password}"}) { status } }`,
      );
      expect(body.errors[0].extensions.code).toBe('service_unavailable');
      // The global limit lets ordinary routes through (skipOnError), and sessions still work.
      expect((await broken.app.inject({ url: '/v1/meta' })).statusCode).toBe(200);
      expect(
        (
          await broken.app.inject({
            url: '/v1/me',
            headers: { authorization: `Bearer ${owner.accessToken}` },
          })
        ).statusCode,
      ).toBe(200);
    } finally {
      await broken.close();
    }
  });
});
