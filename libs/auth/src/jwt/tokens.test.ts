import { createHmac, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { createSecretBox, manualClock, uuidv7 } from '@mailwarden/core';
import { openTestDatabase } from '@mailwarden/testing';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createKeyRing } from './key-ring.ts';
import { createSigningKeysRepository } from './signing-keys.repository.ts';
import { createTokenService } from './token-service.ts';

const { pool, db } = openTestDatabase();
afterAll(() => pool.end());

const DAY = 86_400;
const ISSUER = 'https://api.test.example';
const AUDIENCE = 'mailwarden-api';

async function setup(options: { rotationDays?: number } = {}) {
  const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
  const keyRing = createKeyRing({
    repository: createSigningKeysRepository(db, `test-${randomUUID()}`),
    secretBox: createSecretBox(randomBytes(32)),
    clock,
    accessTtlSeconds: 900,
    rotationIntervalSeconds: (options.rotationDays ?? 30) * DAY,
    publishLeadSeconds: 3600,
  });
  await keyRing.ready();
  onTestFinished(() => keyRing.stop());
  const tokens = createTokenService({
    keyRing,
    clock,
    issuer: ISSUER,
    audience: AUDIENCE,
    accessTtlSeconds: 900,
    mfaTtlSeconds: 300,
  });
  return { clock, keyRing, tokens };
}

const claims = { userId: uuidv7(), tenantId: uuidv7(), sessionId: uuidv7() };
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access tokens', () => {
  it('should sign EdDSA tokens with kid and typ and verify them back', async () => {
    const { tokens, keyRing } = await setup();
    const token = await tokens.signAccess({ ...claims, role: 'owner' });
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'EdDSA', kid: (await keyRing.jwks()).keys[0]!.kid, typ: 'at+jwt' });
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(900);
    expect(payload).toMatchObject({ iss: ISSUER, aud: AUDIENCE, role: 'owner' });
    expect(payload.sub).toMatch(/^usr_/);
    expect(await tokens.verifyAccess(token)).toEqual(claims);
  });

  it('should refuse expired, foreign, retyped and forged tokens with stable codes', async () => {
    const { tokens, clock, keyRing } = await setup();
    const token = await tokens.signAccess({ ...claims, role: 'owner' });
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());

    // alg: none, unsigned.
    await expect(tokens.verifyAccess(`${b64({ ...header, alg: 'none' })}.${p}.`)).rejects.toMatchObject({
      code: 'invalid_token',
    });
    // HS256 keyed with our own public key (the classic algorithm-confusion forgery).
    const publicPem = createPublicKey({ key: (await keyRing.jwks()).keys[0] as never, format: 'jwk' }).export(
      { type: 'spki', format: 'pem' },
    );
    const hsHeader = b64({ ...header, alg: 'HS256' });
    const hsSig = createHmac('sha256', publicPem).update(`${hsHeader}.${p}`).digest('base64url');
    await expect(tokens.verifyAccess(`${hsHeader}.${p}.${hsSig}`)).rejects.toMatchObject({
      code: 'invalid_token',
    });
    // A changed claim breaks the signature.
    await expect(
      tokens.verifyAccess(
        `${h}.${b64({ ...payload, role: 'admin', tid: 'ten_00000000000000000000000000' })}.${s}`,
      ),
    ).rejects.toMatchObject({ code: 'invalid_token' });
    // An mfa-pending token is not an access token.
    await expect(
      tokens.verifyAccess(await tokens.signMfaPending({ userId: claims.userId, tenantId: null })),
    ).rejects.toMatchObject({ code: 'invalid_token' });
    // Another deployment's key, a kid we never published.
    const stranger = await new SignJWT(payload)
      .setProtectedHeader({ ...header, kid: 'not-ours' })
      .sign((await import('node:crypto')).generateKeyPairSync('ed25519').privateKey);
    await expect(tokens.verifyAccess(stranger)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(tokens.verifyAccess('garbage')).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(tokens.verifyAccess('x'.repeat(5000))).rejects.toMatchObject({ code: 'invalid_token' });
    // Fifteen minutes later it has expired.
    clock.advance(901_000 + 5_000);
    await expect(tokens.verifyAccess(token)).rejects.toMatchObject({ code: 'token_expired' });
  });

  it('should keep mfa-pending tokens for the second step only, for five minutes', async () => {
    const { tokens, clock } = await setup();
    const token = await tokens.signMfaPending({ userId: claims.userId, tenantId: claims.tenantId });
    const verified = await tokens.verifyMfaPending(token);
    expect(verified).toMatchObject({ userId: claims.userId, tenantId: claims.tenantId });
    await expect(
      tokens.verifyMfaPending(await tokens.signAccess({ ...claims, role: 'viewer' })),
    ).rejects.toMatchObject({ code: 'invalid_token' });
    clock.advance(306_000);
    await expect(tokens.verifyMfaPending(token)).rejects.toMatchObject({ code: 'token_expired' });
  });
});

describe('signing key rotation', () => {
  it('should publish the next key before it signs, and keep the old one until its tokens expire', async () => {
    const { tokens, clock, keyRing } = await setup({ rotationDays: 1 });
    const first = (await keyRing.jwks()).keys.map((k) => k.kid);
    expect(first).toHaveLength(1);
    const oldToken = await tokens.signAccess({ ...claims, role: 'owner' });

    // One day minus the lead: the successor is published, the old key still signs.
    clock.advance((DAY - 3600) * 1000);
    await keyRing.refresh();
    const published = (await keyRing.jwks()).keys.map((k) => k.kid);
    expect(published).toHaveLength(2);
    expect(published[0]).toBe(first[0]);
    const next = published[1]!;
    expect((await keyRing.signingKey()).kid).toBe(first[0]);

    // After the lead the new key signs; tokens of the old one still verify until they expire.
    clock.advance(3600 * 1000);
    expect((await keyRing.signingKey()).kid).toBe(next);
    const newToken = await tokens.signAccess({ ...claims, role: 'owner' });
    expect(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid).toBe(next);
    const stillValid = await tokens.signAccess({ ...claims, role: 'owner' });
    expect(await tokens.verifyAccess(stillValid)).toEqual(claims);

    // Access TTL plus skew later the old key is retired and gone from the JWKS.
    clock.advance((900 + 61) * 1000);
    await keyRing.refresh();
    expect((await keyRing.jwks()).keys.map((k) => k.kid)).toEqual([next]);
    await expect(tokens.verifyAccess(oldToken)).rejects.toMatchObject({ code: 'invalid_token' });
    expect(await tokens.verifyAccess(await tokens.signAccess({ ...claims, role: 'owner' }))).toEqual(claims);
  });

  it('should publish only public key material', async () => {
    const { keyRing } = await setup();
    for (const key of (await keyRing.jwks()).keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    }
  });

  it('should agree between two instances on one key set', async () => {
    const repository = createSigningKeysRepository(db, `test-${randomUUID()}`);
    const box = createSecretBox(randomBytes(32));
    const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
    const options = {
      repository,
      secretBox: box,
      clock,
      accessTtlSeconds: 900,
      rotationIntervalSeconds: 30 * DAY,
      publishLeadSeconds: 3600,
    };
    const a = createKeyRing(options);
    const b = createKeyRing(options);
    await Promise.all([a.ready(), b.ready()]);
    onTestFinished(() => {
      a.stop();
      b.stop();
    });
    await a.refresh();
    await b.refresh();
    expect(await a.jwks()).toEqual(await b.jwks());
    expect((await a.jwks()).keys).toHaveLength(1);
  });
});
