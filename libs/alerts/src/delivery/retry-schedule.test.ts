import { describe, expect, it } from 'vitest';
import {
  ENDPOINT_DISABLE_AFTER_MS,
  endpointHealthAfter,
  MAX_DELIVERY_ATTEMPTS,
  nextAttemptAt,
  RETRY_DELAYS_MS,
} from './retry-schedule.ts';

const now = new Date('2026-05-01T12:00:00Z');
const delay = (attempts: number, random: number) =>
  (nextAttemptAt(attempts, now, () => random)?.getTime() ?? Number.NaN) - now.getTime();

describe('nextAttemptAt', () => {
  it('should follow 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h at the midpoint of the jitter', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => delay(n, 0.5))).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
    expect(MAX_DELIVERY_ATTEMPTS).toBe(8);
  });

  it('should give up after the eighth attempt', () => {
    expect(nextAttemptAt(8, now)).toBeNull();
    expect(nextAttemptAt(100, now)).toBeNull();
    expect(() => nextAttemptAt(0, now)).toThrow();
  });

  it('should jitter every delay by at most ±20 %, and spread real random draws', () => {
    for (let n = 1; n <= RETRY_DELAYS_MS.length; n++) {
      const base = RETRY_DELAYS_MS[n - 1] as number;
      expect(delay(n, 0)).toBe(Math.round(base * 0.8));
      expect(delay(n, 1)).toBe(Math.round(base * 1.2));
    }
    const draws = new Set(Array.from({ length: 50 }, () => nextAttemptAt(3, now)?.getTime()));
    expect(draws.size).toBeGreaterThan(40);
    for (const t of draws) {
      expect(t! - now.getTime()).toBeGreaterThanOrEqual(1_440_000);
      expect(t! - now.getTime()).toBeLessThanOrEqual(2_160_000);
    }
  });

  it('should cover about 27.6 hours from first attempt to last', () => {
    const total = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(total / 3_600_000).toBeCloseTo(27.58, 1);
  });
});

describe('endpointHealthAfter', () => {
  const at = (ms: number) => new Date(now.getTime() + ms);

  it('should start the failure clock at the first failure and clear it on success', () => {
    const first = endpointHealthAfter(null, { outcome: 'retry', attemptedAt: now });
    expect(first).toEqual({ disable: false, failingSince: now });
    const later = endpointHealthAfter(now, { outcome: 'retry', attemptedAt: at(3_600_000) });
    expect(later).toEqual({ disable: false, failingSince: now });
    expect(endpointHealthAfter(now, { outcome: 'success', attemptedAt: at(1) })).toEqual({
      disable: false,
      failingSince: null,
    });
  });

  it('should disable after 5 days of unbroken failure, not before', () => {
    expect(
      endpointHealthAfter(now, { outcome: 'retry', attemptedAt: at(ENDPOINT_DISABLE_AFTER_MS - 1) }),
    ).toMatchObject({
      disable: false,
    });
    expect(
      endpointHealthAfter(now, { outcome: 'retry', attemptedAt: at(ENDPOINT_DISABLE_AFTER_MS) }),
    ).toEqual({
      disable: true,
      failingSince: now,
      reason: 'failing_too_long',
    });
  });

  it('should disable at once on 410 Gone', () => {
    expect(endpointHealthAfter(null, { outcome: 'disable', attemptedAt: now })).toEqual({
      disable: true,
      failingSince: now,
      reason: 'gone',
    });
  });
});
