import { AppError } from '@mailwarden/core';

/**
 * Bounds how many password hashes run at once, and how many may wait. argon2 runs on libuv's
 * thread pool, which DNS lookups and file I/O share; a login flood must not occupy it (nor every
 * core) and must not queue without limit. Past the queue limit a caller is told to come back
 * (503 with Retry-After) at once, which is cheaper for everyone than waiting in a long line.
 */
export interface Semaphore {
  run<T>(task: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly waiting: number;
}

export function createSemaphore(concurrency: number, queueLimit: number): Semaphore {
  let active = 0;
  const queue: Array<() => void> = [];

  const release = () => {
    active--;
    const next = queue.shift();
    if (next) {
      active++;
      next();
    }
  };

  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    async run(task) {
      if (active >= concurrency) {
        if (queue.length >= queueLimit) {
          throw new AppError('service_unavailable', {
            detail: 'too many sign-ins are being checked at this moment; retry in a second',
            extensions: { retryAfterSeconds: 1 },
          });
        }
        await new Promise<void>((resolve) => queue.push(resolve));
      } else {
        active++;
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
