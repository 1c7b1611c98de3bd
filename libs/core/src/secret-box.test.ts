import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, encryptionKeyId, parseEncryptionKey } from './secret-box.ts';

describe(createSecretBox.name, () => {
  const key = randomBytes(32);

  it('should open what it sealed, and never show the plaintext in the sealed form', () => {
    const box = createSecretBox(key);
    const sealed = box.seal('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 'totp:u1');
    expect(sealed).toMatch(new RegExp(`^v1\\.${encryptionKeyId(key)}\\.[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
    expect(sealed).not.toContain('JBSWY3DP');
    expect(box.open(sealed, 'totp:u1').toString()).toBe('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    // A fresh IV each time: equal plaintexts do not give equal ciphertexts.
    expect(box.seal('x', 'c')).not.toBe(box.seal('x', 'c'));
  });

  it('should refuse a value moved to another context (row) or tampered with', () => {
    const box = createSecretBox(key);
    const sealed = box.seal('seed', 'totp:u1');
    expect(() => box.open(sealed, 'totp:u2')).toThrow();
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0]! ^= 1;
    parts[3] = body.toString('base64url');
    expect(() => box.open(parts.join('.'), 'totp:u1')).toThrow();
  });

  it('should open values of a previous key after rotation and say they need resealing', () => {
    const old = createSecretBox(key);
    const sealed = old.seal('seed', 'ctx');
    const next = randomBytes(32);
    const rotated = createSecretBox(next, [key]);
    expect(rotated.open(sealed, 'ctx').toString()).toBe('seed');
    expect(rotated.needsReseal(sealed)).toBe(true);
    expect(rotated.needsReseal(rotated.seal('seed', 'ctx'))).toBe(false);
    // Without the old key the value is simply unreadable.
    expect(() => createSecretBox(next).open(sealed, 'ctx')).toThrow(/unknown key/);
  });

  it('should take only base64 of exactly 32 bytes as a key', () => {
    expect(parseEncryptionKey(key.toString('base64'))).toEqual(key);
    expect(() => parseEncryptionKey(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
    expect(() => parseEncryptionKey('not base64 at all!!')).toThrow();
  });
});
