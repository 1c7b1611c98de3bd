/**
 * A bounded LRU of results with absolute expiry times. A JavaScript Map iterates in insertion
 * order, so re-inserting on every hit keeps the least recently used entry first, where eviction
 * takes it from.
 */

interface Entry<V> {
  value: V;
  expiresAtMs: number;
}

export class TtlLruCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly maxEntries: number;
  /**
   * Walks the entries oldest first across evictions. A fresh `keys()` per eviction would step over
   * every entry deleted since the Map last compacted (they stay in place as holes, oldest first):
   * 6-18 µs an eviction in a full cache instead of well under one.
   */
  private oldest: Iterator<string> | undefined;

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value and its remaining lifetime, or undefined when absent or expired. */
  get(key: string, nowMs: number): { value: V; remainingMs: number } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAtMs <= nowMs) return undefined;
    this.entries.set(key, entry);
    return { value: entry.value, remainingMs: entry.expiresAtMs - nowMs };
  }

  set(key: string, value: V, expiresAtMs: number): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAtMs });
    while (this.entries.size > this.maxEntries) {
      this.oldest ??= this.entries.keys();
      let oldest = this.oldest.next();
      if (oldest.done) {
        // Walked to the end (only after a clear or when all was touched since): start again.
        this.oldest = this.entries.keys();
        oldest = this.oldest.next();
        if (oldest.done) break;
      }
      this.entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.entries.clear();
    this.oldest = undefined;
  }
}
