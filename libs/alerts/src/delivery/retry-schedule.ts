/**
 * When to try a failed delivery again, and when to give up on an endpoint.
 *
 * A delivery is tried at once, then after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight
 * attempts over about 27.6 hours. The short first retry absorbs a receiver restart; the long tail
 * outlasts an outage of a day. Each delay is jittered by ±20 % so that the deliveries that failed
 * together during an outage do not all come back in the same second.
 *
 * Separately, an endpoint whose deliveries have all failed for 5 days (counted from the first
 * failure after its last success, `failing_since`) is disabled, as is one that answers 410 Gone.
 */

/** Delay before retry n (index 0 = the first retry, after the first attempt failed). */
export const RETRY_DELAYS_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

/** The first attempt plus one per retry delay. */
export const MAX_DELIVERY_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** Each delay is multiplied by a factor drawn from [1 - JITTER, 1 + JITTER]. */
export const RETRY_JITTER = 0.2;

/** An endpoint failing without a single success for this long is disabled. */
export const ENDPOINT_DISABLE_AFTER_MS = 5 * 24 * 3_600_000;

/**
 * When attempt `attemptsMade + 1` is due, after `attemptsMade` attempts that all failed; null when
 * the delivery has used all its attempts (it is then `failed`). `random` is injectable for tests.
 */
export function nextAttemptAt(
  attemptsMade: number,
  now: Date,
  random: () => number = Math.random,
): Date | null {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) throw new Error('attemptsMade must be >= 1');
  const base = RETRY_DELAYS_MS[attemptsMade - 1];
  if (base === undefined) return null;
  const factor = 1 - RETRY_JITTER + 2 * RETRY_JITTER * Math.min(1, Math.max(0, random()));
  return new Date(now.getTime() + Math.round(base * factor));
}

export type EndpointHealth =
  | { disable: false; failingSince: Date | null }
  | { disable: true; failingSince: Date | null; reason: 'gone' | 'failing_too_long' };

/**
 * The endpoint's state after one attempt: a success clears `failingSince`; a failure starts it
 * (or keeps the earlier start); a 410 or 5 days of unbroken failure disables the endpoint.
 */
export function endpointHealthAfter(
  failingSince: Date | null,
  attempt: { outcome: 'success' | 'retry' | 'disable'; attemptedAt: Date },
): EndpointHealth {
  if (attempt.outcome === 'success') return { disable: false, failingSince: null };
  const since = failingSince ?? attempt.attemptedAt;
  if (attempt.outcome === 'disable') return { disable: true, failingSince: since, reason: 'gone' };
  if (attempt.attemptedAt.getTime() - since.getTime() >= ENDPOINT_DISABLE_AFTER_MS) {
    return { disable: true, failingSince: since, reason: 'failing_too_long' };
  }
  return { disable: false, failingSince: since };
}
