import { randomUUID } from 'node:crypto';
import { systemClock } from '@mailwarden/core';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AuthCacheBus,
  createAuthCache,
  createRedisAuthCacheBus,
  parseCacheInvalidation,
} from './session-cache.ts';

/** Two "API instances" on one channel of the local Redis, each with its own cache and bus. */
const opened: Array<{ redis: Redis; bus: AuthCacheBus }> = [];
function instance(channel: string, connectionName = 'mailwarden-auth-cache') {
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  const bus = createRedisAuthCacheBus({ redis, channel, connectionName });
  opened.push({ redis, bus });
  const cache = createAuthCache<{ tenantId: string; userId: string }>(systemClock, 60_000, {
    name: 'session',
    bus,
  });
  return { redis, bus, cache };
}
afterEach(async () => {
  for (const { redis, bus } of opened.splice(0)) {
    bus.close();
    redis.disconnect();
  }
});

async function until(condition: () => boolean, what: string) {
  const deadline = Date.now() + 3_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const value = { tenantId: 't1', userId: 'u1' };

describe(createAuthCache.name, () => {
  it('should cache nothing until its instance receives invalidations', async () => {
    const a = instance(`test-${randomUUID()}`);
    expect(a.cache.get('s1')).toBeUndefined(); // starts the subscription
    a.cache.set('s1', value, a.cache.epoch);
    expect(a.cache.get('s1')).toBeUndefined();
    await until(() => a.bus.live, 'the subscription');
    a.cache.set('s1', value, a.cache.epoch);
    expect(a.cache.get('s1')).toEqual(value);
  });

  it("should drop another instance's entry as soon as the invalidation arrives", async () => {
    const channel = `test-${randomUUID()}`;
    const a = instance(channel);
    const b = instance(channel);
    a.cache.get('x');
    b.cache.get('x');
    await until(() => a.bus.live && b.bus.live, 'both subscriptions');
    b.cache.set('s1', value, b.cache.epoch);
    b.cache.set('s2', { tenantId: 't1', userId: 'u2' }, b.cache.epoch);
    b.cache.set('s3', { tenantId: 't2', userId: 'u1' }, b.cache.epoch);
    a.cache.delete('s1');
    await until(() => b.cache.get('s1') === undefined, 'the delete to reach b');
    expect(b.cache.get('s2')).toBeDefined();
    a.cache.deleteWhere({ userId: 'u1' });
    await until(() => b.cache.get('s3') === undefined, 'the filter to reach b');
    expect(b.cache.get('s2')).toBeDefined();
  });

  it('should not cache a lookup that raced an invalidation', async () => {
    const a = instance(`test-${randomUUID()}`);
    a.cache.get('x');
    await until(() => a.bus.live, 'the subscription');
    const readAt = a.cache.epoch; // a request starts its database read…
    a.cache.delete('s1'); // …the session is revoked meanwhile…
    a.cache.set('s1', value, readAt); // …and the row read before the revocation is not kept.
    expect(a.cache.get('s1')).toBeUndefined();
  });

  it('should forget everything and stop caching when its subscription drops', async () => {
    const name = `auth-cache-test-${randomUUID().slice(0, 8)}`;
    const a = instance(`test-${randomUUID()}`, name);
    a.cache.get('x');
    await until(() => a.bus.live, 'the subscription');
    a.cache.set('s1', value, a.cache.epoch);
    expect(a.cache.get('s1')).toEqual(value);
    // Kill this subscriber's connection (only it) from the server side, as an outage would.
    const admin = new Redis('redis://127.0.0.1:6379');
    try {
      const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const id = list
        .split('\n')
        .find((line) => line.includes(`name=${name} `))
        ?.match(/^id=(\d+)/)?.[1];
      expect(id).toBeDefined();
      await admin.call('CLIENT', 'KILL', 'ID', id!);
    } finally {
      admin.disconnect();
    }
    await until(() => !a.bus.live, 'the bus to go dark');
    expect(a.cache.get('s1')).toBeUndefined();
  });
});

describe(parseCacheInvalidation.name, () => {
  it('should turn anything malformed into a clear of every cache', () => {
    for (const payload of [
      '',
      '{',
      'null',
      '{"op":"delete"}',
      '{"cache":"session","op":"drop"}',
      'x'.repeat(2000),
    ]) {
      expect(parseCacheInvalidation(payload)).toEqual({ cache: '*', op: 'clear' });
    }
    expect(
      parseCacheInvalidation('{"cache":"session","op":"deleteWhere","filter":{"userId":"u","x":1}}'),
    ).toEqual({
      cache: 'session',
      op: 'deleteWhere',
      filter: { userId: 'u' },
    });
  });
});
