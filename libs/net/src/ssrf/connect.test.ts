/**
 * The guard against real sockets — all on 127.0.0.0/8. Canaries record every connection they get,
 * so "refused" is proven by a canary that saw nothing (checked after a control connection, which
 * arrives in order, so a stray dial could not still be in flight).
 */
import type { DnsResult, RecordType, Resolver } from '@mailwarden/core';
import { type Canary, startCanary } from '@mailwarden/testing/https-server';
import { createZoneResolver } from '@mailwarden/testing/zone-resolver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowList } from './cidr.ts';
import { connectGuarded } from './connect.ts';

const allowOf = (text: string) => {
  const r = parseAllowList(text);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.allow;
};

/** Answers A queries from a script, one entry per query, and counts the queries. */
function scriptedResolver(answers: string[][]): Resolver & { aQueries: number } {
  const r = {
    aQueries: 0,
    async query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
      if (type !== 'A') return { status: 'nodata', name, type, ttlSeconds: 0, cnameChain: [] };
      const records = answers[Math.min(r.aQueries, answers.length - 1)] ?? [];
      r.aQueries++;
      return {
        status: 'answer',
        name,
        type,
        records: records as never,
        ttlSeconds: 0,
        cnameChain: [],
        authenticData: false,
      };
    },
  };
  return r;
}

let first: Canary;
let second: Canary;

beforeAll(async () => {
  first = await startCanary({ host: '127.0.0.21' });
  second = await startCanary({ host: '127.0.0.22' });
});
afterAll(async () => {
  await first.close();
  await second.close();
});

async function control(canary: Canary, seenBefore: number): Promise<void> {
  const r = await connectGuarded({
    host: canary.host,
    port: canary.port,
    resolver: createZoneResolver({}),
    allow: allowOf(`${canary.host}/32`),
  });
  expect(r.ok).toBe(true);
  if (r.ok) r.socket.destroy();
  await expect.poll(() => canary.seen.length).toBe(seenBefore + 1);
}

describe('connectGuarded', () => {
  it('without PROBE_ALLOW_CIDRS refuses loopback and dials nothing', async () => {
    const before = first.seen.length;
    const resolver = createZoneResolver({ 'canary.test': { A: [first.host] } });
    const r = await connectGuarded({ host: 'canary.test', port: first.port, resolver, allow: [] });
    expect(r).toMatchObject({
      ok: false,
      reason: 'ssrf_refused',
      refused: [{ address: first.host, verdict: 'loopback' }],
    });
    const literal = await connectGuarded({ host: first.host, port: first.port, resolver, allow: [] });
    expect(literal).toMatchObject({ ok: false, reason: 'ssrf_refused' });
    await control(first, before);
    expect(first.seen).toHaveLength(before + 1);
  });

  it('with 127.0.0.0/8 allowed connects to the vetted address', async () => {
    const before = first.seen.length;
    const resolver = createZoneResolver({ 'canary.test': { A: [first.host] } });
    const r = await connectGuarded({
      host: 'canary.test',
      port: first.port,
      resolver,
      allow: allowOf('127.0.0.0/8'),
    });
    expect(r).toMatchObject({
      ok: true,
      host: 'canary.test',
      address: { address: first.host, allowedBy: '127.0.0.0/8' },
    });
    if (r.ok) {
      expect(r.socket.remoteAddress).toBe(first.host);
      r.socket.destroy();
    }
    await expect.poll(() => first.seen.length).toBe(before + 1);
  });

  it('refuses a name with one allowed and one forbidden address, dialling neither', async () => {
    const before = first.seen.length;
    const resolver = createZoneResolver({ 'mixed.test': { A: [first.host, '10.0.0.1'] } });
    const r = await connectGuarded({
      host: 'mixed.test',
      port: first.port,
      resolver,
      allow: allowOf('127.0.0.0/8'),
    });
    expect(r).toMatchObject({
      ok: false,
      reason: 'ssrf_refused',
      refused: [{ address: '10.0.0.1', verdict: 'private' }],
    });
    await control(first, before);
  });

  it('defeats DNS rebinding: dials the address it vetted and never resolves again', async () => {
    // First answer: the allowed canary. Any later answer: the other canary, which is not allowed.
    const resolver = scriptedResolver([[first.host], [second.host]]);
    const beforeFirst = first.seen.length;
    const beforeSecond = second.seen.length;
    const r = await connectGuarded({
      host: 'rebind.test',
      port: first.port,
      resolver,
      allow: allowOf(`${first.host}/32`),
    });
    expect(r).toMatchObject({ ok: true, address: { address: first.host } });
    if (r.ok) r.socket.destroy();
    expect(resolver.aQueries).toBe(1);
    await expect.poll(() => first.seen.length).toBe(beforeFirst + 1);
    await control(second, beforeSecond);
  });

  it('refuses when the (single) lookup answers with a forbidden address', async () => {
    const resolver = scriptedResolver([[second.host]]);
    const before = second.seen.length;
    const r = await connectGuarded({
      host: 'rebind.test',
      port: second.port,
      resolver,
      allow: allowOf(`${first.host}/32`),
    });
    expect(r).toMatchObject({ ok: false, reason: 'ssrf_refused' });
    await control(second, before);
  });

  it('tries the next vetted address when one refuses the connection', async () => {
    // Nothing listens on 127.0.0.23 at the canary's port (the port is bound to 127.0.0.21 only,
    // so no wildcard listener can hold it either): the first address refuses, the second answers.
    const resolver = createZoneResolver({ 'two.test': { A: ['127.0.0.23', first.host] } });
    const r = await connectGuarded({
      host: 'two.test',
      port: first.port,
      resolver,
      allow: allowOf('127.0.0.0/8'),
    });
    expect(r).toMatchObject({ ok: true, address: { address: first.host } });
    if (r.ok) r.socket.destroy();
  });

  it('reports connection_refused, dns failures and invalid hosts as results', async () => {
    const closed = await startCanary({ host: '127.0.0.24' });
    const port = closed.port;
    await closed.close();
    const resolver = createZoneResolver({
      'gone.test': { A: ['127.0.0.24'] },
      'flaky.test': { unknown: 'servfail' },
    });
    const allow = allowOf('127.0.0.0/8');
    expect(await connectGuarded({ host: 'gone.test', port, resolver, allow })).toMatchObject({
      ok: false,
      reason: 'connection_refused',
      code: 'ECONNREFUSED',
      attempts: [{ address: '127.0.0.24', reason: 'connection_refused' }],
    });
    expect(await connectGuarded({ host: 'flaky.test', port, resolver, allow })).toMatchObject({
      ok: false,
      reason: 'dns_unknown',
    });
    expect(await connectGuarded({ host: 'nope.test', port, resolver, allow })).toMatchObject({
      ok: false,
      reason: 'dns_no_address',
    });
    expect(await connectGuarded({ host: '0x7f.0.0.1', port, resolver, allow })).toMatchObject({
      ok: false,
      reason: 'invalid_host',
    });
  });

  it('gives up at the overall deadline when DNS never answers', async () => {
    const resolver = { query: () => new Promise<never>(() => {}) };
    const started = Date.now();
    const r = await connectGuarded({ host: 'hang.test', port: 1, resolver, allow: [], timeoutMs: 100 });
    expect(r).toMatchObject({ ok: false, reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops when the caller aborts', async () => {
    const resolver = createZoneResolver({ 'canary.test': { A: [first.host] } });
    const r = await connectGuarded({
      host: 'canary.test',
      port: first.port,
      resolver,
      allow: allowOf('127.0.0.0/8'),
      signal: AbortSignal.abort(),
    });
    expect(r).toMatchObject({ ok: false, reason: 'aborted' });
  });
});
