import { describe, expect, it } from 'vitest';
import { asciiLower, normaliseQueryName, normaliseWireName } from './names.ts';

describe('query name normalisation', () => {
  it('lower-cases ASCII only, strips one trailing dot, keeps underscores', () => {
    expect(normaliseQueryName('_DMARC.Example.COM.')).toBe('_dmarc.example.com');
    expect(normaliseQueryName('selector._domainkey.example.com')).toBe('selector._domainkey.example.com');
    expect(asciiLower('ÄB')).toBe('Äb'); // RFC 4343: only A-Z fold
  });

  it('treats "." and "" as the root', () => {
    expect(normaliseQueryName('.')).toBe('.');
    expect(normaliseQueryName('')).toBe('.');
    expect(normaliseWireName('.')).toBe('.');
  });

  it('refuses what cannot go on the wire (RFC 1035 §2.3.4) and non-ASCII (A-labels only)', () => {
    expect(normaliseQueryName('a..b')).toBeNull();
    expect(normaliseQueryName('.leading')).toBeNull();
    expect(normaliseQueryName('example.com..')).toBeNull();
    expect(normaliseQueryName(`${'a'.repeat(64)}.com`)).toBeNull();
    expect(normaliseQueryName(`${'a'.repeat(63)}.com`)).not.toBeNull();
    expect(normaliseQueryName(`${'abcdefghi.'.repeat(25)}abcd`)).toBeNull(); // 254 characters
    expect(normaliseQueryName(`${'abcdefghi.'.repeat(25)}abc`)).not.toBeNull(); // 253: the most
    expect(normaliseQueryName('bad name.com')).toBeNull();
    expect(normaliseQueryName('bücher.de')).toBeNull();
  });
});
