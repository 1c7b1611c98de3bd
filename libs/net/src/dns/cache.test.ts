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

  it('keeps evicting the least recently used across many evictions, touches and a clear', () => {
    // A reference LRU (an array, oldest first) beside the cache, under a mixed workload.
    const cache = new TtlLruCache<number>(50);
    let model: string[] = [];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 120;
    };
    for (let i = 0; i < 20_000; i++) {
      const key = `k${next()}`;
      if (i === 10_000) {
        cache.clear();
        model = [];
      }
      if (cache.get(key, 0)) {
        model = [...model.filter((k) => k !== key), key];
      } else {
        cache.set(key, i, 10_000);
        model = [...model.filter((k) => k !== key), key];
        if (model.length > 50) model.shift();
      }
      expect(cache.size).toBe(model.length);
    }
    for (const key of model) expect(cache.get(key, 0)).toBeDefined();
  });

  it('stores nothing when its bound is zero', () => {
    const cache = new TtlLruCache<number>(0);
    cache.set('a', 1, 10_000);
    expect(cache.get('a', 0)).toBeUndefined();
  });
});
