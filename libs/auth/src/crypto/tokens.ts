import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeId, encodeId } from '@mailwarden/core';

/**
 * Opaque bearer secrets (API keys, refresh, invitation and reset tokens) share one shape:
 *
 *   <kind>_<id₁>…<idₙ><secret>
 *
 * where each id is a uuid in 26 Crockford base32 digits and the secret is 32 random bytes in
 * base64url (43 characters). The ids locate the row (the tenant first, where there is one, so the
 * lookup runs inside that tenant's RLS transaction); only the SHA-256 of the secret is stored, and
 * it is compared in constant time. 256 random bits make a fast hash enough: there is nothing to
 * guess from a leaked hash.
 */
export type TokenKind = 'mw' | 'mwr' | 'mwi' | 'mwp';

const ID_CHARS = 26;
const SECRET_BYTES = 32;
const SECRET_CHARS = 43;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

function idDigits(uuid: string): string {
  return encodeId('ten', uuid).slice(4);
}

export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Constant-time equality of two hex digests (different lengths are simply unequal). */
export function hexDigestsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

export function formatToken(kind: TokenKind, uuids: readonly string[], secret: string): string {
  return `${kind}_${uuids.map(idDigits).join('')}${secret}`;
}

/** The ids and secret of a token of this kind with `idCount` ids, or undefined when malformed. */
export function parseToken(
  kind: TokenKind,
  idCount: number,
  token: string,
): { ids: string[]; secret: string } | undefined {
  const expectedLength = kind.length + 1 + idCount * ID_CHARS + SECRET_CHARS;
  if (token.length !== expectedLength || !token.startsWith(`${kind}_`)) return undefined;
  const ids: string[] = [];
  let offset = kind.length + 1;
  for (let i = 0; i < idCount; i++, offset += ID_CHARS) {
    const uuid = decodeId('ten', `ten_${token.slice(offset, offset + ID_CHARS)}`);
    if (!uuid) return undefined;
    ids.push(uuid);
  }
  const secret = token.slice(offset);
  return SECRET_RE.test(secret) ? { ids, secret } : undefined;
}

/** A new token and the hash to store for it. */
export function issueToken(kind: TokenKind, uuids: readonly string[]): { token: string; hash: string } {
  const secret = newSecret();
  return { token: formatToken(kind, uuids, secret), hash: sha256Hex(secret) };
}
