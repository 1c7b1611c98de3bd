import { describe, expect, it } from 'vitest';
import { TtlLruCache } from './cache.ts';

/** A small deterministic generator, so the workloads below are the same on every run. */
function random(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
}

describe('TTL cache (CLOCK eviction)', () => {
  it('returns entries until they expire, with the time they have left', () => {
    const cache = new TtlLruCache<string>(10);
    cache.set('a', 'A', 1000);
    expect(cache.get('a', 400)).toEqual({ value: 'A', remainingMs: 600 });
    expect(cache.get('a', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the oldest entry not used since it was added, giving used ones a second chance', () => {
    const cache = new TtlLruCache<number>(3);
    cache.set('a', 1, 10_000);
    cache.set('b', 2, 10_000);
    cache.set('c', 3, 10_000);
    cache.get('a', 0);
    cache.set('d', 4, 10_000); // a was used: b, the oldest unused, goes
    expect(cache.get('b', 0)).toBeUndefined();
    expect([cache.get('a', 0)?.value, cache.get('c', 0)?.value, cache.get('d', 0)?.value]).toEqual([1, 3, 4]);
    expect(cache.size).toBe(3);
  });

  it('keeps the entry it is adding even when every other entry was used', () => {
    const cache = new TtlLruCache<number>(2);
    cache.set('a', 1, 10_000);
    cache.set('b', 2, 10_000);
    cache.get('a', 0);
    cache.get('b', 0);
    cache.set('c', 3, 10_000);
    expect(cache.get('c', 0)?.value).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('updates an entry set again in place, fresh value and lifetime', () => {
    const cache = new TtlLruCache<number>(2);
    cache.set('a', 1, 1_000);
    cache.set('a', 2, 5_000);
    expect(cache.get('a', 2_000)).toEqual({ value: 2, remainingMs: 3_000 });
    expect(cache.size).toBe(1);
  });

  it('keeps names many lookups share while a stream of one-off names passes through', () => {
    // A sweep: each domain's own names are asked once, a few shared names (an SPF include, a
    // parent _dmarc) with every domain. The shared ones must never fall out.
    const cache = new TtlLruCache<number>(100);
    const shared = ['spf.provider.example', '_dmarc.example', 'logo.example'];
    let sharedMisses = 0;
    for (let d = 0; d < 5_000; d++) {
      for (let k = 0; k < 6; k++) if (!cache.get(`n${k}.d${d}`, 0)) cache.set(`n${k}.d${d}`, d, 10_000);
      for (const name of shared) {
        if (cache.get(name, 0)) continue;
        if (d > 0) sharedMisses++;
        cache.set(name, d, 10_000);
      }
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(sharedMisses).toBe(0);
  });

  it('hits about as often as an exact LRU, across evictions, touches and a clear', () => {
    const cache = new TtlLruCache<number>(50);
    let lru: string[] = []; // oldest first
    const next = random(7);
    let hits = 0;
    let lruHits = 0;
    for (let i = 0; i < 20_000; i++) {
      // Skewed keys: a few are asked often, most rarely, as names are.
      const r = next(1000);
      const key = `k${r < 600 ? r % 30 : r}`;
      if (i === 10_000) {
        cache.clear();
        lru = [];
        expect(cache.size).toBe(0);
      }
      if (cache.get(key, 0)) hits++;
      else cache.set(key, i, 10_000);
      if (lru.includes(key)) lruHits++;
      lru = [...lru.filter((k) => k !== key), key];
      if (lru.length > 50) lru.shift();
      expect(cache.size).toBeLessThanOrEqual(50);
    }
    expect(hits).toBeGreaterThan(lruHits * 0.95);
  });

  it('stores nothing when its bound is zero', () => {
    const cache = new TtlLruCache<number>(0);
    cache.set('a', 1, 10_000);
    expect(cache.get('a', 0)).toBeUndefined();
  });
});
