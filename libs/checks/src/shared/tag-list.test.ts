import { describe, expect, it } from 'vitest';
import { firstValues, parseTagList } from './tag-list.ts';

describe(parseTagList.name, () => {
  it('should split tags, trimming folding whitespace and skipping empty tag-specs', () => {
    const list = parseTagList(' v = DKIM1 ;\r\n\tk=rsa;; p=ab cd ;', { lowerCaseNames: false });
    expect(list.tags).toEqual([
      { name: 'v', value: 'DKIM1', index: 0 },
      { name: 'k', value: 'rsa', index: 1 },
      { name: 'p', value: 'ab cd', index: 2 },
    ]);
    expect(list.problems).toEqual([]);
  });

  it('should lower-case names only when asked', () => {
    expect(parseTagList('P=x', { lowerCaseNames: true }).tags[0]?.name).toBe('p');
    expect(parseTagList('P=x', { lowerCaseNames: false }).tags[0]?.name).toBe('P');
  });

  it('should report specs without "=", bad names and duplicates, keeping the first value', () => {
    const list = parseTagList('a=1; junk; 9x=2; a=3', { lowerCaseNames: true });
    expect(list.problems.map((p) => p.kind)).toEqual(['missing_equals', 'bad_name']);
    expect(list.duplicates).toEqual(['a']);
    expect(firstValues(list).get('a')).toBe('1');
  });

  it('should clip hostile tag-specs in problems', () => {
    const list = parseTagList(`${'x'.repeat(100_000)}; a=1`, { lowerCaseNames: true });
    expect(list.problems[0]?.text.length).toBeLessThanOrEqual(80);
    expect(list.tags).toHaveLength(1);
  });
});
