/**
 * The shared cache and the coalescing of identical queries, with an injected clock so TTLs
 * expire without sleeping. The server's query log is the proof of what went upstream.
 */
import { manualClock } from '@mailwarden/core';
import { startDnsServer, type TestDnsServer, type Zones } from '@mailwarden/testing/dns-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDnsClient, type DnsClient } from './client.ts';
import type { DnsClientOptions } from './options.ts';

const zones: Zones = {
  'cache.test': {
    soa: { ttl: 600, minimum: 60 },
    records: {
      '@': { A: { ttl: 300, values: ['192.0.2.1'] }, MX: [{ preference: 10, exchange: 'mx.cache.test' }] },
      day: { A: { ttl: 86_400, values: ['192.0.2.2'] } },
      zero: { A: { ttl: 0, values: ['192.0.2.3'] } },
      alias: { CNAME: { ttl: 30, values: ['cache.test'] } },
      ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`n${i}`, { A: [`192.0.2.${10 + i}`] }])),
    },
  },
};

let server: TestDnsServer;
const opened: DnsClient[] = [];

function setup(options: Partial<DnsClientOptions> = {}) {
  const clock = manualClock();
  const client = createDnsClient({ servers: [{ host: server.host, port: server.port }], clock, ...options });
  opened.push(client);
  const upstream = (name: string, type = 'A') => server.queriesFor(name, type).length;
  return { clock, client, upstream };
}

beforeAll(async () => {
  server = await startDnsServer({ host: '127.0.0.1', zones });
});
afterEach(() => {
  server.clearLog();
  server.clearFaults();
});
afterAll(async () => {
  for (const c of opened) c.close();
  await server.close();
});

describe('cache', () => {
  it('answers a repeat from the cache, with the TTL counting down, until the TTL runs out', async () => {
    const { clock, client, upstream } = setup();
    expect(await client.query('cache.test', 'A')).toMatchObject({ status: 'answer', ttlSeconds: 300 });
    clock.advance(100_000);
    expect(await client.query('CACHE.test.', 'A')).toMatchObject({ status: 'answer', ttlSeconds: 200 });
    expect(upstream('cache.test')).toBe(1);
    expect(client.stats()).toMatchObject({ queries: 2, cacheHits: 1, queriesSent: 1, cacheEntries: 1 });
    clock.advance(200_000);
    await client.query('cache.test', 'A');
    expect(upstream('cache.test')).toBe(2);
  });

  it('caches NXDOMAIN and NODATA for the negative TTL (RFC 2308 §5)', async () => {
    const { clock, client, upstream } = setup();
    for (let i = 0; i < 2; i++) {
      expect(await client.query('gone.cache.test', 'A')).toMatchObject({ status: 'nxdomain' });
      expect(await client.query('cache.test', 'TXT')).toMatchObject({ status: 'nodata' });
    }
    expect([upstream('gone.cache.test'), upstream('cache.test', 'TXT')]).toEqual([1, 1]);
    clock.advance(60_001);
    await client.query('gone.cache.test', 'A');
    expect(upstream('gone.cache.test')).toBe(2);
  });

  it('does not cache unknown results, unless told to for a few seconds', async () => {
    server.setFault('cache.test', { kind: 'rcode', rcode: 2 });
    const plain = setup();
    await plain.client.query('cache.test', 'A');
    await plain.client.query('cache.test', 'A');
    expect(plain.upstream('cache.test')).toBe(2);

    server.clearLog();
    const brief = setup({ cache: { failureTtlSeconds: 5 } });
    await brief.client.query('cache.test', 'A');
    expect(await brief.client.query('cache.test', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'servfail',
    });
    expect(brief.upstream('cache.test')).toBe(1);
    brief.clock.advance(5001);
    await brief.client.query('cache.test', 'A');
    expect(brief.upstream('cache.test')).toBe(2);
  });

  it('sees a changed record once the old one expires; bypassCache sees it at once', async () => {
    const { clock, client } = setup();
    await client.query('n0.cache.test', 'A');
    server.setRecords('n0.cache.test', 'A', ['192.0.2.99']);
    expect(await client.query('n0.cache.test', 'A')).toMatchObject({ records: ['192.0.2.10'] });
    expect(await client.query('n0.cache.test', 'A', { bypassCache: true })).toMatchObject({
      records: ['192.0.2.99'],
    });
    // ... and the fresh answer replaced the cached one.
    expect(await client.query('n0.cache.test', 'A')).toMatchObject({ records: ['192.0.2.99'] });
    clock.advance(301_000);
    server.setRecords('n0.cache.test', 'A', ['192.0.2.10']);
    expect(await client.query('n0.cache.test', 'A')).toMatchObject({ records: ['192.0.2.10'] });
  });

  it('clamps TTLs: at most maxTtlSeconds, at least minTtlSeconds (TTL 0 is not cached by default)', async () => {
    const { clock, client, upstream } = setup();
    await client.query('day.cache.test', 'A');
    await client.query('zero.cache.test', 'A');
    await client.query('zero.cache.test', 'A');
    expect(upstream('zero.cache.test')).toBe(2);
    clock.advance(3_600_001);
    await client.query('day.cache.test', 'A');
    expect(upstream('day.cache.test')).toBe(2);

    server.clearLog();
    const floored = setup({ cache: { minTtlSeconds: 5 } });
    await floored.client.query('zero.cache.test', 'A');
    await floored.client.query('zero.cache.test', 'A');
    expect(floored.upstream('zero.cache.test')).toBe(1);
  });

  it('keeps a CNAME chain only as long as its shortest TTL', async () => {
    const { clock, client, upstream } = setup();
    expect(await client.query('alias.cache.test', 'A')).toMatchObject({ status: 'answer', ttlSeconds: 300 });
    clock.advance(29_000);
    await client.query('alias.cache.test', 'A');
    expect(upstream('alias.cache.test')).toBe(1);
    clock.advance(2000);
    await client.query('alias.cache.test', 'A');
    expect(upstream('alias.cache.test')).toBe(2);
  });

  it('is bounded: the least recently used entry goes first', async () => {
    const { client, upstream } = setup({ cache: { maxEntries: 2 } });
    await client.query('n1.cache.test', 'A');
    await client.query('n2.cache.test', 'A');
    await client.query('n1.cache.test', 'A'); // n1 is now the most recent
    await client.query('n3.cache.test', 'A'); // evicts n2
    await client.query('n1.cache.test', 'A');
    await client.query('n2.cache.test', 'A');
    expect([upstream('n1.cache.test'), upstream('n2.cache.test')]).toEqual([1, 2]);
    expect(client.stats().cacheEntries).toBe(2);
  });

  it('keys on DO and CD too, and can be turned off', async () => {
    const { client, upstream } = setup();
    await client.query('cache.test', 'MX');
    await client.query('cache.test', 'MX', { dnssecOk: true });
    await client.query('cache.test', 'MX', { checkingDisabled: true });
    await client.query('cache.test', 'MX', { dnssecOk: true });
    expect(upstream('cache.test', 'MX')).toBe(3);

    server.clearLog();
    const off = setup({ cache: false });
    await off.client.query('cache.test', 'MX');
    await off.client.query('cache.test', 'MX');
    expect(off.upstream('cache.test', 'MX')).toBe(2);
  });

  it('hands every caller its own arrays, so one caller sorting cannot disturb the next', async () => {
    const { client } = setup();
    const first = await client.query('cache.test', 'A');
    if (first.status !== 'answer') throw new Error(first.status);
    first.records.push('203.0.113.1');
    first.cnameChain.push('tampered');
    expect(await client.query('cache.test', 'A')).toMatchObject({ records: ['192.0.2.1'], cnameChain: [] });
  });
});

describe('coalescing', () => {
  it('sends 100 concurrent identical queries upstream once', async () => {
    server.setFault('n4.cache.test', { kind: 'delay', ms: 50 });
    const { client, upstream } = setup({ cache: false });
    const results = await Promise.all(Array.from({ length: 100 }, () => client.query('N4.cache.test', 'A')));
    expect(upstream('n4.cache.test')).toBe(1);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(results[0]).toMatchObject({ status: 'answer', records: ['192.0.2.14'] });
    expect(client.stats()).toMatchObject({ queries: 100, coalesced: 99, queriesSent: 1 });
  });

  it('coalesces failures too, and does not join queries that differ in type or flags', async () => {
    server.setFault('n3.cache.test', { kind: 'rcode', rcode: 5 });
    const { client, upstream } = setup();
    const [a, b, mx, withDo] = await Promise.all([
      client.query('n3.cache.test', 'A'),
      client.query('n3.cache.test', 'A'),
      client.query('n3.cache.test', 'MX'),
      client.query('n3.cache.test', 'A', { dnssecOk: true }),
    ]);
    expect([a, b, mx, withDo].map((r) => r.status)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    expect(upstream('n3.cache.test')).toBe(2);
    expect(upstream('n3.cache.test', 'MX')).toBe(1);
  });
});
