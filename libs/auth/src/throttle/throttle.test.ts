import { randomUUID } from 'node:crypto';
import { manualClock } from '@mailwarden/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { attemptPolicies, createAttemptGuard } from './attempt-guard.ts';
import { createRedisThrottle } from './throttle.ts';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, enableOfflineQueue: true });
afterAll(() => redis.quit());

function fresh() {
  const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
  const prefix = `test-${randomUUID()}`;
  return { clock, throttle: createRedisThrottle(redis, prefix, clock), prefix };
}

describe(createRedisThrottle.name, () => {
  it('should allow N attempts per window and then say how long to wait', async () => {
    const { throttle } = fresh();
    for (let i = 0; i < 3; i++) expect((await throttle.consume('k', 3, 60)).allowed).toBe(true);
    const refused = await throttle.consume('k', 3, 60);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThan(55);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('should back off exponentially after the free failures, capped, and forget on success', async () => {
    const { throttle, clock } = fresh();
    const policy = { freeFailures: 2, baseSeconds: 1, maxSeconds: 8, windowSeconds: 600 };
    for (let i = 0; i < 2; i++) await throttle.recordFailure('acct', policy);
    expect((await throttle.checkBackoff('acct')).allowed).toBe(true);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      await throttle.recordFailure('acct', policy);
      waits.push((await throttle.checkBackoff('acct')).retryAfterSeconds);
    }
    expect(waits).toEqual([1, 2, 4, 8, 8, 8]);
    clock.advance(8_001);
    expect((await throttle.checkBackoff('acct')).allowed).toBe(true);
    await throttle.recordFailure('acct', policy);
    await throttle.clearFailures('acct');
    expect((await throttle.checkBackoff('acct')).allowed).toBe(true);
  });

  it('should claim a key once', async () => {
    const { throttle } = fresh();
    expect(await throttle.claimOnce('jti-1', 30)).toBe(true);
    expect(await throttle.claimOnce('jti-1', 30)).toBe(false);
    expect(await throttle.claimOnce('jti-2', 30)).toBe(true);
  });

  it('should fail closed with 503 when Redis cannot answer', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const throttle = createRedisThrottle(dead, 'x', manualClock());
    const guard = createAttemptGuard(throttle);
    await expect(throttle.consume('k', 1, 60)).rejects.toMatchObject({
      code: 'service_unavailable',
      status: 503,
    });
    await expect(guard.admit('login', 'a@example.com', '127.0.0.1')).rejects.toMatchObject({
      code: 'service_unavailable',
    });
    await expect(throttle.claimOnce('k', 1)).rejects.toMatchObject({ code: 'service_unavailable' });
    dead.disconnect();
  });
});

describe(createAttemptGuard.name, () => {
  it('should slow one account from one address hard, but a victim elsewhere only briefly', async () => {
    const { throttle, clock } = fresh();
    const guard = createAttemptGuard(throttle);
    const { perAccountAndIp, perAccount } = attemptPolicies.login;
    // The attacker fails from one address until the pair backoff bites.
    for (let i = 0; i <= perAccountAndIp.freeFailures; i++) {
      await guard.admit('login', 'victim@example.com', '203.0.113.9');
      await guard.failed('login', 'victim@example.com', '203.0.113.9');
    }
    await expect(guard.admit('login', 'victim@example.com', '203.0.113.9')).rejects.toMatchObject({
      code: 'rate_limited',
    });
    // The account key is case-insensitive.
    await expect(guard.admit('login', 'VICTIM@example.com', '203.0.113.9')).rejects.toMatchObject({
      code: 'rate_limited',
    });
    // The victim, at another address, is not held by that.
    await guard.admit('login', 'victim@example.com', '198.51.100.7');
    // Many addresses failing: the account-wide backoff engages, never longer than its cap.
    for (let i = 0; i < perAccount.freeFailures + 20; i++)
      await guard.failed('login', 'victim@example.com', `192.0.2.${i}`);
    const refusal = await guard.admit('login', 'victim@example.com', '198.51.100.7').catch((err) => err);
    expect(refusal).toMatchObject({ code: 'rate_limited' });
    expect(refusal.extensions.retryAfterSeconds).toBeLessThanOrEqual(perAccount.maxSeconds);
    clock.advance(perAccount.maxSeconds * 1000 + 1);
    await guard.admit('login', 'victim@example.com', '198.51.100.7');
  });

  it('should cap sign-ups and reset requests per address and per IP', async () => {
    const { throttle } = fresh();
    const guard = createAttemptGuard(throttle);
    for (let i = 0; i < attemptPolicies.signUp.perAccount.limit; i++)
      await guard.capped('signUp', 'new@example.com', `192.0.2.${i}`);
    await expect(guard.capped('signUp', 'new@example.com', '192.0.2.200')).rejects.toMatchObject({
      code: 'rate_limited',
    });
    for (let i = 0; i < attemptPolicies.passwordReset.perIp.limit; i++)
      await guard.capped('passwordReset', `u${i}@example.com`, '192.0.2.1');
    await expect(guard.capped('passwordReset', 'other@example.com', '192.0.2.1')).rejects.toMatchObject({
      code: 'rate_limited',
    });
  });
});
