import { createZoneResolver } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { memoizeResolver } from './memo-resolver.ts';

describe(memoizeResolver.name, () => {
  it('should ask each name and type once per run, case-insensitively', async () => {
    const zone = createZoneResolver({ 'example.com': { TXT: ['a'], A: ['192.0.2.1'] } });
    const memo = memoizeResolver(zone);
    const [first, second] = await Promise.all([
      memo.query('example.com', 'TXT'),
      memo.query('EXAMPLE.com', 'TXT'),
    ]);
    await memo.query('example.com', 'A');
    expect(first).toBe(second);
    expect(zone.calls).toHaveLength(2);
    expect(memo.queryCount).toBe(2);
  });
});
