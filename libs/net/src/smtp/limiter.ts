/**
 * Politeness for MX probes: at most one connection at a time to one address, and a global rate of
 * new connections for the whole process. Tenants that share an MX (a hosted provider's) share both
 * limits, because they share the limiter: the worker uses `sharedProbeLimiter` unless told
 * otherwise. The limits hold per process; several worker processes each have their own.
 *
 * The rate is a GCRA token bucket (a continuous refill of `connectionsPerSecond` with room for
 * `burst` at once). Per-address queues are dropped when they drain, so an address probed once
 * leaves nothing behind.
 */

export interface ProbeLimiterOptions {
  /** New connections per second, all addresses together. `Infinity` turns the rate off. */
  connectionsPerSecond: number;
  /** Connections that may start back to back before the rate applies. */
  burst?: number;
}

export interface ProbeLimiter {
  /** Runs `task` when no other task holds `key` (an address); tasks for one key run in order. */
  exclusive<T>(key: string, task: () => Promise<T>): Promise<T>;
  /** Waits for the global rate to allow one more connection. */
  connectionSlot(signal?: AbortSignal): Promise<void>;
  /** Keys with a queued or running task (for tests and leak checks). */
  activeKeys(): number;
}

export const DEFAULT_PROBE_CONNECTIONS_PER_SECOND = 20;

export function createProbeLimiter(options: ProbeLimiterOptions): ProbeLimiter {
  const rate = options.connectionsPerSecond;
  if (!(rate > 0)) throw new Error('connectionsPerSecond must be positive');
  const intervalMs = Number.isFinite(rate) ? 1000 / rate : 0;
  const burst = Math.max(1, Math.floor(options.burst ?? 1));
  const toleranceMs = intervalMs * (burst - 1);
  /** Theoretical arrival time of the next connection (GCRA). */
  let tat = 0;
  const tails = new Map<string, Promise<unknown>>();

  return {
    exclusive<T>(key: string, task: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      const run = previous.then(task);
      const tail = run.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return run;
    },
    connectionSlot(signal?: AbortSignal): Promise<void> {
      if (intervalMs === 0) return Promise.resolve();
      const now = Date.now();
      const earliest = Math.max(now, tat - toleranceMs);
      tat = Math.max(tat, now) + intervalMs;
      const waitMs = earliest - now;
      if (waitMs <= 0) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal?.addEventListener('abort', done, { once: true });
      });
    },
    activeKeys: () => tails.size,
  };
}

/** The process-wide limiter every probe uses unless given another. */
export const sharedProbeLimiter: ProbeLimiter = createProbeLimiter({
  connectionsPerSecond: DEFAULT_PROBE_CONNECTIONS_PER_SECOND,
  burst: DEFAULT_PROBE_CONNECTIONS_PER_SECOND,
});
