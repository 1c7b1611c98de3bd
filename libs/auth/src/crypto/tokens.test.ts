import { uuidv7 } from '@mailwarden/core';
import { describe, expect, it } from 'vitest';
import { formatToken, hexDigestsEqual, issueToken, newSecret, parseToken, sha256Hex } from './tokens.ts';

describe('opaque tokens', () => {
  it('should round-trip the ids and the secret', () => {
    const a = uuidv7();
    const b = uuidv7();
    const secret = newSecret();
    const token = formatToken('mwr', [a, b], secret);
    expect(token).toMatch(/^mwr_[0-9a-z]{52}[\w-]{43}$/);
    expect(parseToken('mwr', 2, token)).toEqual({ ids: [a, b], secret });
  });

  it('should refuse another kind, another id count, a bad length or bad characters', () => {
    const { token } = issueToken('mwr', [uuidv7(), uuidv7()]);
    expect(parseToken('mw', 2, token)).toBeUndefined();
    expect(parseToken('mwr', 1, token)).toBeUndefined();
    expect(parseToken('mwr', 2, `${token}x`)).toBeUndefined();
    expect(parseToken('mwr', 2, `${token.slice(0, -1)}*`)).toBeUndefined();
    expect(parseToken('mwr', 2, token.replace(/^mwr_./, 'mwr_u'))).toBeUndefined();
  });

  it('should store only a digest of the secret', () => {
    const { token, hash } = issueToken('mwp', [uuidv7()]);
    const parsed = parseToken('mwp', 1, token)!;
    expect(hash).toBe(sha256Hex(parsed.secret));
    expect(token).not.toContain(hash);
  });

  it('should compare digests only when both are well-formed and equal', () => {
    const d = sha256Hex('x');
    expect(hexDigestsEqual(d, d)).toBe(true);
    expect(hexDigestsEqual(d, sha256Hex('y'))).toBe(false);
    expect(hexDigestsEqual(d, d.slice(0, 10))).toBe(false);
    expect(hexDigestsEqual('', '')).toBe(false);
  });
});
