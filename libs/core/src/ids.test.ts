import { describe, expect, it } from 'vitest';
import { decodeId, encodeId, newId, uuidv7 } from './ids.ts';

describe('ids', () => {
  it('should make time-ordered version 7 uuids', () => {
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(a.slice(0, 13)).toBe('018bcfe5-6800');
  });

  it('should keep the version, variant and uniqueness across refills of the random pool', () => {
    const ids = Array.from({ length: 1_000 }, () => uuidv7(1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(/^018bcfe5-6800-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('should round-trip a typed id', () => {
    const { uuid, id } = newId('dom');
    expect(id).toMatch(/^dom_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(decodeId('dom', id)).toBe(uuid);
  });

  it('should encode the nil and max uuids at the edges of the alphabet', () => {
    expect(encodeId('ten', '00000000-0000-0000-0000-000000000000')).toBe(`ten_${'0'.repeat(26)}`);
    expect(encodeId('ten', 'ffffffff-ffff-ffff-ffff-ffffffffffff')).toBe(`ten_7${'z'.repeat(25)}`);
  });

  it('should refuse ids of another kind, wrong length, bad digits or overflow', () => {
    const { id } = newId('dom');
    expect(decodeId('ten', id)).toBeUndefined();
    expect(decodeId('dom', `${id}x`)).toBeUndefined();
    expect(decodeId('dom', `dom_${'u'.repeat(26)}`)).toBeUndefined();
    expect(decodeId('dom', `dom_8${'0'.repeat(25)}`)).toBeUndefined();
  });
});
