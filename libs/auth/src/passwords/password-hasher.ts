import { randomBytes } from 'node:crypto';
import { type Algorithm, hash, parseOptions, verify } from '@node-rs/argon2';
import { createSemaphore } from './semaphore.ts';

/**
 * argon2id password hashing (RFC 9106; OWASP's floor is m = 19 MiB, t = 2, p = 1). Parameters live
 * in each PHC string, so raising them later rehashes a user's password at their next sign-in.
 *
 * Passwords are NFKC-normalised first (SP 800-63B-4 §3.1.1.2): the same password typed on two
 * keyboards that compose characters differently must match. Nothing is truncated.
 */
export interface PasswordHashParams {
  memoryKib: number;
  timeCost: number;
}

export interface PasswordHasherOptions extends PasswordHashParams {
  /** Hashes running at once. */
  concurrency: number;
  /** Hashes allowed to wait for a slot; beyond that, callers get 503. */
  queueLimit: number;
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;

// @node-rs/argon2 declares Algorithm as a const enum, which type stripping cannot inline.
const ARGON2ID = 2 as Algorithm;

export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

export function createPasswordHasher(options: PasswordHasherOptions) {
  const gate = createSemaphore(options.concurrency, options.queueLimit);
  const argonOptions = {
    algorithm: ARGON2ID,
    memoryCost: options.memoryKib,
    timeCost: options.timeCost,
    parallelism: 1,
  };
  /**
   * What the hasher has done since it was made, for metrics and for the test that proves sign-in
   * spends the same argon2 work on unknown addresses as on known ones.
   */
  const stats = { hashes: 0, verifications: 0 };
  /**
   * The stand-in for an account that does not exist: a PHC string with the current parameters and
   * random salt and digest. Verifying against it costs exactly what verifying a real hash costs
   * (argon2 recomputes the digest from the parameters in the string), and building it costs
   * nothing — so even the first unknown address after a start is no slower than a known one.
   */
  const b64 = (bytes: number) => randomBytes(bytes).toString('base64').replace(/=+$/, '');
  const dummy = `$argon2id$v=19$m=${options.memoryKib},t=${options.timeCost},p=1$${b64(16)}$${b64(32)}`;

  const hashPassword = (password: string) =>
    gate.run(() => {
      stats.hashes++;
      return hash(normalizePassword(password), argonOptions);
    });
  const verifyPassword = (phc: string, password: string) =>
    gate.run(async () => {
      stats.verifications++;
      try {
        return await verify(phc, normalizePassword(password));
      } catch {
        // A corrupt stored hash is a failed match, never a crash that tells the caller something.
        return false;
      }
    });

  return {
    hash: hashPassword,
    verify: verifyPassword,
    /**
     * Spends the same work as a real check against a hash made with the current parameters, for
     * an account that does not exist: the answer time then says nothing about the account.
     */
    async verifyDummy(password: string): Promise<false> {
      await verifyPassword(dummy, password);
      return false;
    },
    needsRehash(phc: string): boolean {
      try {
        const parsed = parseOptions(phc);
        return (
          parsed.algorithm !== ARGON2ID ||
          parsed.memoryCost !== options.memoryKib ||
          parsed.timeCost !== options.timeCost ||
          parsed.parallelism !== 1
        );
      } catch {
        return true;
      }
    },
    get load() {
      return { active: gate.active, waiting: gate.waiting };
    },
    /** Counts since start (a snapshot). */
    get stats() {
      return { ...stats };
    },
  };
}
