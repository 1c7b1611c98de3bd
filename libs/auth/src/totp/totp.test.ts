import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { canonicalRecoveryCode, hashRecoveryCode, newRecoveryCode } from './recovery-codes.ts';
import { base32Encode, checkTotp, newTotpSecret, totpAt, totpQrDataUrl, totpUri } from './totp.ts';

/** Codes from an independent RFC 6238 implementation (Debian's oathtool). */
function oathtool(secret: string, at: Date): string {
  const when = at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  return execFileSync('oathtool', ['--totp', '-b', secret, '-N', when], { encoding: 'utf8' }).trim();
}

describe('TOTP', () => {
  it('should make 20-byte base32 secrets', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(secret);
    expect(base32Encode(Buffer.from('12345678901234567890'))).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  });

  it('should agree with oathtool at several instants, and accept its codes', async () => {
    const secret = newTotpSecret();
    for (const at of [new Date('2026-01-01T00:00:00Z'), new Date('2026-03-04T05:06:29Z'), new Date()]) {
      const code = oathtool(secret, at);
      expect(await totpAt(secret, at)).toBe(code);
      expect(await checkTotp(secret, code, at)).toEqual({
        valid: true,
        timeStep: Math.floor(at.getTime() / 30_000),
      });
    }
  });

  it('should match the RFC 6238 appendix B vector for SHA-1 (8 digits truncated to 6)', async () => {
    // Appendix B: secret "12345678901234567890", T = 59 s gives 94287082; the last six digits.
    const secret = base32Encode(Buffer.from('12345678901234567890'));
    expect(await totpAt(secret, new Date(59_000))).toBe('287082');
  });

  it('should accept one step either side and nothing further', async () => {
    const secret = newTotpSecret();
    const now = new Date('2026-05-05T12:00:10Z');
    const step = (n: number) => new Date(now.getTime() + n * 30_000);
    for (const n of [-1, 0, 1])
      expect((await checkTotp(secret, await totpAt(secret, step(n)), now)).valid, `step ${n}`).toBe(true);
    for (const n of [-2, 2])
      expect((await checkTotp(secret, await totpAt(secret, step(n)), now)).valid, `step ${n}`).toBe(false);
    expect((await checkTotp(secret, '12345', now)).valid).toBe(false);
    expect((await checkTotp(secret, '12345a', now)).valid).toBe(false);
  });

  it('should give an otpauth URI and a QR code that carries it', async () => {
    const secret = newTotpSecret();
    const uri = totpUri(secret, 'ann@acme.example');
    expect(uri).toMatch(/^otpauth:\/\/totp\/Mailwarden:ann(%40|@)acme\.example\?/);
    const params = new URL(uri).searchParams;
    expect(params.get('secret')).toBe(secret);
    expect(params.get('issuer')).toBe('Mailwarden');
    const dataUrl = await totpQrDataUrl(uri);
    expect(dataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from(dataUrl.split(',')[1]!, 'base64').toString()).toMatch(/^<svg[^>]*>/);
  });
});

describe('recovery codes', () => {
  it('should be 80 bits in four groups, read back forgivingly, hashed alike', () => {
    const code = newRecoveryCode();
    expect(code).toMatch(/^([0-9a-hjkmnp-tv-z]{4}-){3}[0-9a-hjkmnp-tv-z]{4}$/);
    const sloppy = ` ${code.toUpperCase().replaceAll('-', ' ').replaceAll('0', 'O').replaceAll('1', 'I')} `;
    expect(canonicalRecoveryCode(sloppy)).toBe(code.replaceAll('-', ''));
    expect(hashRecoveryCode(sloppy)).toBe(hashRecoveryCode(code));
    expect(hashRecoveryCode('too-short')).toBeUndefined();
    expect(new Set(Array.from({ length: 50 }, newRecoveryCode)).size).toBe(50);
  });
});
