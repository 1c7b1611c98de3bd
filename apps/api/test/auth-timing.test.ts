/**
 * "Same response and similar timing for unknown accounts" (issue 3), checked deterministically:
 * not by timing requests (bench/auth-login-timing.bench.ts does that), but by counting the work
 * that dominates the time — argon2 verifications and hashes in the app's real hasher, and
 * database round trips (pool checkouts) — on the path of a known and of an unknown address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, logIn, nextIp, signUp, uniqueEmail } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

/** The argon2 work and the pool checkouts one call costs. */
async function workOf(call: () => Promise<unknown>) {
  const hasher = t.container.auth.passwordHasher;
  let checkouts = 0;
  const count = () => {
    checkouts++;
  };
  t.container.pool.on('acquire', count);
  const before = hasher.stats;
  try {
    await call();
  } finally {
    t.container.pool.off('acquire', count);
  }
  const after = hasher.stats;
  return {
    verifications: after.verifications - before.verifications,
    hashes: after.hashes - before.hashes,
    checkouts,
  };
}

describe('unknown and known accounts cost the same', () => {
  it('should verify one argon2 hash and compute none on sign-in, whether the address exists or not', async () => {
    const owner = await signUp(t);
    // The first unknown address after a start: the stand-in hash must not be computed then.
    const unknown = await workOf(async () =>
      expectProblem(
        await logIn(t, uniqueEmail('ghost'), 'a wrong password guess'),
        401,
        'invalid_credentials',
      ),
    );
    const known = await workOf(async () =>
      expectProblem(await logIn(t, owner.email, 'a wrong password guess'), 401, 'invalid_credentials'),
    );
    expect(unknown).toMatchObject({ verifications: 1, hashes: 0 });
    expect(known).toMatchObject({ verifications: 1, hashes: 0 });
    // Round trips: the known path writes one audit event per tenant of the account on top.
    expect(known.checkouts - unknown.checkouts).toBe(1);
  });

  it('should answer a reset request with the same round trips and no mail wait for unknown addresses', async () => {
    const owner = await signUp(t);
    const request = (email: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/password/reset-request',
        remoteAddress: nextIp(),
        payload: { email },
      });
    const sent = t.container.mailer.messages.length;
    const ghost = uniqueEmail('ghost');
    let unknownStatus = 0;
    let knownStatus = 0;
    const unknown = await workOf(async () => {
      unknownStatus = (await request(ghost)).statusCode;
    });
    const known = await workOf(async () => {
      knownStatus = (await request(owner.email)).statusCode;
    });
    expect([unknownStatus, knownStatus]).toEqual([202, 202]);
    expect(unknown).toEqual(known);
    expect(unknown.verifications + unknown.hashes).toBe(0);
    // Only the known address gets mail (sent after the answer, off the request path).
    expect(t.container.mailer.messages.slice(sent).map((m) => m.to)).toEqual([owner.email]);
  });
});
