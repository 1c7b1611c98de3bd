/**
 * Fingerprints are stored: every finding row is found again by the fingerprint of its code and
 * subject, so the function must give the values it always gave (these were computed by the first
 * implementation, a streamed Hash of code, NUL, lower-cased subject), or every open finding would
 * resolve and reopen on the next run after an upgrade.
 */
import { describe, expect, it } from 'vitest';
import { findingFingerprint } from './fingerprint.ts';

describe('finding fingerprint', () => {
  it('should keep the stored values, subjects compared without case', () => {
    expect(findingFingerprint('dmarc.missing', 'example.com')).toBe('ecd3669b9f402d04a409512049ab5b43');
    expect(findingFingerprint('dmarc.missing', 'Example.COM')).toBe('ecd3669b9f402d04a409512049ab5b43');
    // UTF-8, as the stream hashed it.
    expect(findingFingerprint('mx.no_fcrdns', 'bücher.example')).toBe('4ea97c0b472e793f32b4d5a0bb1a1964');
  });

  it('should keep code and subject apart', () => {
    expect(findingFingerprint('a', 'bc')).not.toBe(findingFingerprint('ab', 'c'));
  });
});
