/**
 * Decoding the p= public key of a DKIM key record and measuring it. node:crypto only parses here
 * (no I/O), so the check stays pure.
 *
 * RSA (RFC 6376 §3.6.1 k=rsa): the base64 of a DER key. The RFC text says RSAPublicKey, while
 * almost every publisher and verifier uses SubjectPublicKeyInfo (the familiar "MIGfMA0G…"); we
 * accept both and record which one was used.
 * Ed25519 (RFC 8463 §4.2): the base64 of the raw 32-byte public key, not wrapped in SPKI.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

/** RFC 8301 §3.2: verifiers MUST NOT accept RSA keys shorter than 1024 bits. */
export const RSA_MIN_BITS = 1024;
/** RFC 8301 §3.2: signers SHOULD use at least 2048 bits. */
export const RSA_RECOMMENDED_BITS = 2048;
/** RFC 8301 §3.2: verifiers MUST handle 1024 to 4096 bits; larger keys may not verify. */
export const RSA_MAX_REQUIRED_BITS = 4096;
/** RFC 8463 §4.2: an Ed25519 public key is 32 octets. */
export const ED25519_KEY_OCTETS = 32;
/**
 * Our own bound, not an RFC's: a 16384-bit RSA key in SPKI is under 2 800 base64 characters, so
 * anything beyond this is not a key and is not handed to the DER parser.
 */
export const MAX_KEY_BASE64_CHARS = 8192;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4): a common publishing mistake. */
const ED25519_SPKI_PREFIX = '302a300506032b6570032100';

export type PublicKeyAnalysis =
  | { ok: true; keyType: 'rsa'; bits: number; format: 'spki' | 'pkcs1' }
  | { ok: true; keyType: 'ed25519'; bits: 256; format: 'raw' }
  | { ok: false; reason: string };

function tryKey(der: Buffer, type: 'spki' | 'pkcs1'): KeyObject | null {
  try {
    return createPublicKey({ key: der, format: 'der', type });
  } catch {
    return null;
  }
}

function analyseRsa(der: Buffer): PublicKeyAnalysis {
  const spki = tryKey(der, 'spki');
  const key = spki ?? tryKey(der, 'pkcs1');
  if (!key) return { ok: false, reason: 'p= is not a DER-encoded public key (damaged or truncated)' };
  if (key.asymmetricKeyType !== 'rsa') {
    return { ok: false, reason: `k=rsa but p= holds a ${key.asymmetricKeyType ?? 'non-RSA'} key` };
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) return { ok: false, reason: 'the RSA key has no readable modulus' };
  return { ok: true, keyType: 'rsa', bits, format: spki ? 'spki' : 'pkcs1' };
}

function analyseEd25519(raw: Buffer): PublicKeyAnalysis {
  if (raw.length === ED25519_KEY_OCTETS) return { ok: true, keyType: 'ed25519', bits: 256, format: 'raw' };
  if (raw.toString('hex').startsWith(ED25519_SPKI_PREFIX)) {
    return {
      ok: false,
      reason: 'the Ed25519 key is wrapped in SubjectPublicKeyInfo; RFC 8463 §4.2 wants the raw 32 bytes',
    };
  }
  return { ok: false, reason: `an Ed25519 key is ${ED25519_KEY_OCTETS} bytes, this one is ${raw.length}` };
}

/** `base64` is the p= value with whitespace removed and not empty (empty means revoked). */
export function analysePublicKey(keyType: 'rsa' | 'ed25519', base64: string): PublicKeyAnalysis {
  if (base64.length > MAX_KEY_BASE64_CHARS) {
    return { ok: false, reason: `p= is ${base64.length} characters, far more than any key` };
  }
  if (!BASE64.test(base64)) return { ok: false, reason: 'p= is not valid base64' };
  const bytes = Buffer.from(base64, 'base64');
  return keyType === 'rsa' ? analyseRsa(bytes) : analyseEd25519(bytes);
}
