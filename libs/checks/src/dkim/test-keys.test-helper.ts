/** TEST HELPER: public keys of chosen sizes for the DKIM tests. */
import { createPublicKey, randomBytes } from 'node:crypto';

/**
 * An RSA public key of any size, base64 DER. A public key needs no primes (nothing is signed or
 * verified with it here), so a random odd modulus with the top bit set is instant at any size.
 */
export function rsaKeyBase64(bits: number, format: 'spki' | 'pkcs1' = 'spki'): string {
  const modulus = randomBytes(bits / 8);
  modulus[0] = (modulus[0] ?? 0) | 0x80;
  modulus[modulus.length - 1] = (modulus[modulus.length - 1] ?? 0) | 1;
  const key = createPublicKey({
    key: { kty: 'RSA', n: modulus.toString('base64url'), e: 'AQAB' },
    format: 'jwk',
  });
  return key.export({ type: format, format: 'der' }).toString('base64');
}

/** A raw 32-byte Ed25519 public key, base64 (RFC 8463 §4.2). */
export const ED25519_KEY = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
