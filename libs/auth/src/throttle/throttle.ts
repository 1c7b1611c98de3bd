import { createHash } from 'node:crypto';
import { AppError, type Clock } from '@mailwarden/core';
import type { Redis } from 'ioredis';

/**
 * Attempt counters in Redis, shared by every API instance, for the credential paths (sign-in,
 * second factor, recovery codes, password reset, sign-up). Two shapes:
 *
 * - a fixed window (`consume`): at most N attempts per window, for per-IP and per-account caps;
 * - a backoff (`checkBackoff`/`recordFailure`/`clearFailures`): after `freeFailures` consecutive
 *   failures each further one doubles a wait, capped at `maxSeconds`, forgotten `windowSeconds`
 *   after the last failure. The cap is what keeps an attacker from locking a victim out for long.
 *
 * These guards FAIL CLOSED: when Redis cannot answer, the attempt is refused with 503, because
 * letting credential guesses through unmetered is worse than a short outage of sign-in.
 * Keys carry a hash of the subject (an e-mail address is personal data; Redis need not hold it).
 */
export interface Throttle {
  consume(key: string, limit: number, windowSeconds: number): Promise<ThrottleVerdict>;
  checkBackoff(key: string): Promise<ThrottleVerdict>;
  recordFailure(key: string, policy: BackoffPolicy): Promise<void>;
  clearFailures(key: string): Promise<void>;
  /** True the first time a key is claimed within `ttlSeconds` (single-use tokens). */
  claimOnce(key: string, ttlSeconds: number): Promise<boolean>;
}

export interface ThrottleVerdict {
  allowed: boolean;
  retryAfterSeconds: number;
}

export interface BackoffPolicy {
  freeFailures: number;
  baseSeconds: number;
  maxSeconds: number;
  windowSeconds: number;
}

const CONSUME = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}`;

const FAIL = `
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local free = tonumber(ARGV[2])
if failures > free then
  local wait = math.min(tonumber(ARGV[3]) * 2 ^ (failures - free - 1), tonumber(ARGV[4]))
  redis.call('HSET', KEYS[1], 'until', tonumber(ARGV[1]) + wait * 1000)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return failures`;

function unavailable(cause: unknown): AppError {
  return new AppError('service_unavailable', {
    detail: 'the sign-in guard cannot reach its store; retry in a moment',
    extensions: { retryAfterSeconds: 5 },
    cause,
  });
}

/** Hashes the subject part of a key so e-mail addresses do not sit in Redis. */
export function throttleSubject(subject: string): string {
  return createHash('sha256').update(subject.toLowerCase()).digest('base64url').slice(0, 22);
}

export function createRedisThrottle(redis: Redis, keyPrefix: string, clock: Clock): Throttle {
  const full = (key: string) => `${keyPrefix}:auth:${key}`;
  const guarded = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (err) {
      throw unavailable(err);
    }
  };
  return {
    async consume(key, limit, windowSeconds) {
      const [count, ttlMs] = (await guarded(() =>
        redis.eval(CONSUME, 1, full(key), String(windowSeconds * 1000)),
      )) as [number, number];
      return count <= limit
        ? { allowed: true, retryAfterSeconds: 0 }
        : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) };
    },
    async checkBackoff(key) {
      const until = Number((await guarded(() => redis.hget(full(key), 'until'))) ?? 0);
      const waitMs = until - clock.now().getTime();
      return waitMs > 0
        ? { allowed: false, retryAfterSeconds: Math.ceil(waitMs / 1000) }
        : { allowed: true, retryAfterSeconds: 0 };
    },
    async recordFailure(key, policy) {
      await guarded(() =>
        redis.eval(
          FAIL,
          1,
          full(key),
          String(clock.now().getTime()),
          String(policy.freeFailures),
          String(policy.baseSeconds),
          String(policy.maxSeconds),
          String(policy.windowSeconds * 1000),
        ),
      );
    },
    async clearFailures(key) {
      await guarded(() => redis.del(full(key)));
    },
    async claimOnce(key, ttlSeconds) {
      const set = await guarded(() => redis.set(full(key), '1', 'EX', Math.max(1, ttlSeconds), 'NX'));
      return set === 'OK';
    },
  };
}

export function rateLimited(retryAfterSeconds: number, what: string): AppError {
  return new AppError('rate_limited', {
    detail: `too many ${what}; retry in ${retryAfterSeconds} s`,
    extensions: { retryAfterSeconds },
  });
}
