import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { type DeploymentMode, list, type VariableSpec } from './config.ts';

/**
 * AES-256-GCM for secrets at rest (TOTP seeds, JWT private keys).
 *
 * A sealed value is `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url parts). The key id is derived from
 * the key itself, so operators rotate by setting a new ENCRYPTION_KEY and moving the old one to
 * ENCRYPTION_KEYS_PREVIOUS: values sealed under an old key still open, and `needsReseal` tells the
 * owner of a value to seal it again under the current key when it next touches it.
 *
 * The caller's `context` (e.g. `totp:<user uuid>`) is authenticated as associated data: a sealed
 * value copied into another user's row does not open there.
 */
export interface SecretBox {
  readonly currentKeyId: string;
  seal(plaintext: Uint8Array | string, context: string): string;
  /** Throws when the value was tampered with, belongs to another context, or its key is unknown. */
  open(sealed: string, context: string): Buffer;
  needsReseal(sealed: string): boolean;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const KEY_BYTES = 32;

/** 8 hex digits of a domain-separated SHA-256 of the key: stable, and reveals nothing usable. */
export function encryptionKeyId(key: Uint8Array): string {
  return createHash('sha256').update('mailwarden encryption key id\0').update(key).digest('hex').slice(0, 8);
}

/** Decodes a base64 key and insists on exactly 32 bytes. */
export function parseEncryptionKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== base64.trim()) {
    throw new Error('must be the base64 of exactly 32 bytes');
  }
  return key;
}

export function createSecretBox(current: Uint8Array, previous: readonly Uint8Array[] = []): SecretBox {
  const keys = new Map<string, Uint8Array>();
  for (const key of [current, ...previous]) {
    if (key.length !== KEY_BYTES) throw new Error('encryption keys must be 32 bytes');
    keys.set(encryptionKeyId(key), key);
  }
  const currentKeyId = encryptionKeyId(current);
  const aad = (kid: string, context: string) => Buffer.from(`${VERSION}.${kid}.${context}`);

  return {
    currentKeyId,
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(aad(currentKeyId, context));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, currentKeyId, iv, body, tag]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    },
    open(sealed, context) {
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== VERSION) throw new Error('not a sealed value');
      const [, kid, iv, body, tag] = parts as [string, string, string, string, string];
      const key = keys.get(kid);
      if (!key) throw new Error(`sealed under unknown key ${kid}`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(aad(kid, context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
    },
    needsReseal(sealed) {
      return sealed.split('.')[1] !== currentKeyId;
    },
  };
}

/**
 * The key variables every app that seals or opens secrets reads (DESIGN.md §4). The api seals
 * webhook secrets and the worker opens them, so both must be given the same key.
 */
export const encryptionVariables = {
  ENCRYPTION_KEY: {
    description:
      'base64 of 32 random bytes: key for secrets at rest (TOTP seeds, signing keys, webhook secrets)',
    secret: true,
    // No default outside development and test; there a random key per start (sealed data is lost on restart).
    fallback: (mode: DeploymentMode) => (mode === 'production' ? undefined : randomBytes(32)),
    parse: parseEncryptionKey,
  } satisfies VariableSpec<Buffer>,
  ENCRYPTION_KEYS_PREVIOUS: {
    ...list(
      'earlier ENCRYPTION_KEYs, comma list: still decrypt, never encrypt (key rotation)',
      parseEncryptionKey,
      [],
    ),
    secret: true,
  },
};
