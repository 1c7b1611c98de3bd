import { describe, expect, it } from 'vitest';
import { InvalidJobIdError, maxJobIdLength, validateJobId } from './job-id.ts';

describe('validateJobId', () => {
  it('should accept deterministic ids made of dots, dashes and letters', () => {
    expect(validateJobId('dom_01h455vb4pex5vsknk084sn02q.spf.2026-01-01T00-15')).toBe(
      'dom_01h455vb4pex5vsknk084sn02q.spf.2026-01-01T00-15',
    );
    expect(validateJobId('echo-1')).toBe('echo-1');
    expect(validateJobId('1.5')).toBe('1.5');
  });

  it('should refuse a colon, which separates the parts of BullMQ keys', () => {
    expect(() => validateJobId('dom:spf')).toThrow(InvalidJobIdError);
    expect(() => validateJobId('a:b:c')).toThrow(/must not contain ":"/);
  });

  it('should refuse ids that look like BullMQ counter ids, leading zeros and signs included', () => {
    for (const id of ['1', '42', '007', '-5']) {
      expect(() => validateJobId(id), id).toThrow(/must not be an integer/);
    }
  });

  it('should refuse empty, overlong and whitespace ids', () => {
    expect(() => validateJobId('')).toThrow(/must not be empty/);
    expect(() => validateJobId('x'.repeat(maxJobIdLength + 1))).toThrow(/at most/);
    expect(validateJobId('x'.repeat(maxJobIdLength))).toHaveLength(maxJobIdLength);
    expect(() => validateJobId('a b')).toThrow(/whitespace/);
  });
});
