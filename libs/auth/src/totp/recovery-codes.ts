import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../crypto/tokens.ts';

/**
 * Ten single-use recovery codes, each 80 random bits written as four groups of four Crockford
 * base32 digits (`7k2m-…`). 80 bits make a plain SHA-256 a safe way to store them. Input is
 * forgiving the way Crockford base32 intends: case, dashes and spaces ignored, o→0, i/l→1.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let digits = '';
  for (let i = 0; i < 16; i++) {
    digits = ALPHABET[Number(value & 31n)] + digits;
    value >>= 5n;
  }
  return digits.match(/.{4}/g)!.join('-');
}

export function canonicalRecoveryCode(input: string): string | undefined {
  const canonical = input.toLowerCase().replace(/[\s-]/g, '').replace(/o/g, '0').replace(/[il]/g, '1');
  return /^[0-9a-hjkmnp-tv-z]{16}$/.test(canonical) ? canonical : undefined;
}

export function hashRecoveryCode(code: string): string | undefined {
  const canonical = canonicalRecoveryCode(code);
  return canonical ? sha256Hex(`recovery:${canonical}`) : undefined;
}
