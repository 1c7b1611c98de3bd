import { describe, expect, it } from 'vitest';
import { TtlLruCache } from './cache.ts';

describe('TTL LRU cache', () => {
  it('returns entries until they expire, with the time they have left', () => {
    const cache = new TtlLruCache<string>(10);
    cache.set('a', 'A', 1000);
    expect(cache.get('a', 400)).toEqual({ value: 'A', remainingMs: 600 });
    expect(cache.get('a', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used entry beyond its bound', () => {
    const cache = new TtlLruCache<number>(2);
    cache.set('a', 1, 10_000);
    cache.set('b', 2, 10_000);
    cache.get('a', 0); // a is now the most recent
    cache.set('c', 3, 10_000);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)?.value).toBe(1);
    expect(cache.get('c', 0)?.value).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('stores nothing when its bound is zero', () => {
    const cache = new TtlLruCache<number>(0);
    cache.set('a', 1, 10_000);
    expect(cache.get('a', 0)).toBeUndefined();
  });
});
