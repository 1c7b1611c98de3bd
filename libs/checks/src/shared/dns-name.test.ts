import { describe, expect, it } from 'vitest';
import { clip, isAtOrBelow, normalizeDnsName } from './dns-name.ts';

describe(normalizeDnsName.name, () => {
  it('should lower-case, drop the root dot and keep underscores', () => {
    expect(normalizeDnsName('_DMARC.Example.COM.')).toBe('_dmarc.example.com');
    expect(normalizeDnsName(' s1._domainkey.example.com ')).toBe('s1._domainkey.example.com');
  });

  it('should convert U-labels to A-labels', () => {
    expect(normalizeDnsName('bücher.example')).toBe('xn--bcher-kva.example');
  });

  it.each([
    '',
    '.',
    'a..b',
    'exa mple.com',
    '*.example.com',
    '-a.example.com',
    `${'a'.repeat(64)}.com`,
    `${'a.'.repeat(127)}com`,
  ])('should refuse %j', (name) => {
    expect(normalizeDnsName(name)).toBeNull();
  });
});

describe(isAtOrBelow.name, () => {
  it('should compare on label boundaries', () => {
    expect(isAtOrBelow('mail.example.com', 'example.com')).toBe(true);
    expect(isAtOrBelow('example.com', 'example.com')).toBe(true);
    expect(isAtOrBelow('badexample.com', 'example.com')).toBe(false);
  });
});

describe(clip.name, () => {
  it('should shorten long text and say by how much', () => {
    expect(clip('abcdef', 3)).toBe('abc… (+3 chars)');
    expect(clip('abc', 3)).toBe('abc');
  });
});
