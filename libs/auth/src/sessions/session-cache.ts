import type { Clock } from '@mailwarden/core';

/**
 * A small in-process cache of per-request authentication lookups (sessions, API keys), so a busy
 * client does not cost a database round trip per request. Entries live `ttlMs` at most; revoking a
 * session or key in this process deletes its entry at once, so the revoking instance refuses the
 * next request immediately and others within `ttlMs` (docs/decisions/0003).
 */
export interface AuthCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
  /** Drops every entry whose value matches (e.g. all sessions of a user). */
  deleteWhere(match: (value: V) => boolean): void;
  clear(): void;
}

export function createAuthCache<V>(clock: Clock, ttlMs: number, maxEntries = 10_000): AuthCache<V> {
  const entries = new Map<string, { value: V; expiresAtMs: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAtMs <= clock.now().getTime()) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value) {
      if (ttlMs <= 0) return;
      // Oldest first out: Map iteration order is insertion order.
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(key, { value, expiresAtMs: clock.now().getTime() + ttlMs });
    },
    delete(key) {
      entries.delete(key);
    },
    deleteWhere(match) {
      for (const [key, entry] of entries) if (match(entry.value)) entries.delete(key);
    },
    clear() {
      entries.clear();
    },
  };
}
