/**
 * Proven absence (RFC 2308) and CNAME chains: what exists, what does not, for how long, and
 * through which names.
 */
import { startDnsServer, type TestDnsServer, type Zones } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsClient, type DnsClient } from './client.ts';

const chainOf = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, { CNAME: [`c${i + 1}.neg.test`] }]));

const zones: Zones = {
  // SOA TTL above MINIMUM: the negative TTL is MINIMUM (RFC 2308 §5).
  'neg.test': {
    soa: { ttl: 600, minimum: 120 },
    records: {
      host: { A: ['192.0.2.1'] },
      'deep.ent': { A: ['192.0.2.2'] },
      www: { CNAME: { ttl: 30, values: ['host.neg.test'] } },
      two: { CNAME: ['www.neg.test'] },
      dangling: { CNAME: ['nothere.neg.test'] },
      'to-host-txt': { CNAME: ['host.neg.test'] },
      'loop-a': { CNAME: ['loop-b.neg.test'] },
      'loop-b': { CNAME: ['loop-a.neg.test'] },
      ...chainOf(10),
      c10: { A: ['192.0.2.10'] },
      'c-ok-0': { CNAME: ['c-ok-1.neg.test'] },
      'c-ok-1': { CNAME: ['c-ok-2.neg.test'] },
      'c-ok-2': { A: ['192.0.2.3'] },
      outside: { CNAME: ['host.other.test'] },
    },
  },
  // SOA TTL below MINIMUM: the negative TTL is the SOA TTL.
  'other.test': { soa: { ttl: 45, minimum: 900 }, records: { host: { A: ['192.0.2.9'] } } },
};

let server: TestDnsServer;
let noChase: TestDnsServer;
let client: DnsClient;
let requery: DnsClient;

beforeAll(async () => {
  server = await startDnsServer({ host: '127.0.0.1', zones });
  // Answers only the first CNAME, like an authoritative server whose target is in another zone.
  noChase = await startDnsServer({ host: '127.0.0.1', zones, followCnames: false });
  client = createDnsClient({ servers: [{ host: server.host, port: server.port }], cache: false });
  requery = createDnsClient({ servers: [{ host: noChase.host, port: noChase.port }], cache: false });
});
afterAll(async () => {
  client.close();
  requery.close();
  await Promise.all([server.close(), noChase.close()]);
});

describe('negative answers', () => {
  it('NXDOMAIN with the negative TTL min(SOA TTL, MINIMUM)', async () => {
    expect(await client.query('missing.neg.test', 'A')).toEqual({
      status: 'nxdomain',
      name: 'missing.neg.test',
      type: 'A',
      ttlSeconds: 120,
      cnameChain: [],
    });
    expect(await client.query('missing.other.test', 'TXT')).toMatchObject({
      status: 'nxdomain',
      ttlSeconds: 45,
    });
  });

  it('NODATA for a name without the type, and for an empty non-terminal (RFC 8020)', async () => {
    expect(await client.query('host.neg.test', 'MX')).toMatchObject({ status: 'nodata', ttlSeconds: 120 });
    expect(await client.query('ent.neg.test', 'A')).toMatchObject({ status: 'nodata', ttlSeconds: 120 });
    expect(await client.query('host.other.test', 'AAAA')).toMatchObject({ status: 'nodata', ttlSeconds: 45 });
  });
});

describe('CNAME chains', () => {
  it('follows a chain inside one response and reports every name on it', async () => {
    expect(await client.query('two.neg.test', 'A')).toMatchObject({
      status: 'answer',
      name: 'two.neg.test',
      records: ['192.0.2.1'],
      cnameChain: ['www.neg.test', 'host.neg.test'],
      ttlSeconds: 300,
    });
  });

  it('applies NXDOMAIN and NODATA to the end of the chain (RFC 6604)', async () => {
    expect(await client.query('dangling.neg.test', 'A')).toMatchObject({
      status: 'nxdomain',
      cnameChain: ['nothere.neg.test'],
      ttlSeconds: 120,
    });
    expect(await client.query('to-host-txt.neg.test', 'TXT')).toMatchObject({
      status: 'nodata',
      cnameChain: ['host.neg.test'],
    });
  });

  it('answers a CNAME question with the CNAME itself', async () => {
    expect(await client.query('www.neg.test', 'CNAME')).toMatchObject({
      status: 'answer',
      records: ['host.neg.test'],
      cnameChain: [],
      ttlSeconds: 30,
    });
  });

  it('asks again for the end of a chain the response did not resolve', async () => {
    noChase.clearLog();
    expect(await requery.query('two.neg.test', 'A')).toMatchObject({
      status: 'answer',
      records: ['192.0.2.1'],
      cnameChain: ['www.neg.test', 'host.neg.test'],
    });
    expect(noChase.queryLog.map((q) => q.name)).toEqual(['two.neg.test', 'www.neg.test', 'host.neg.test']);
    expect(await requery.query('dangling.neg.test', 'A')).toMatchObject({
      status: 'nxdomain',
      cnameChain: ['nothere.neg.test'],
    });
  });

  it('ends a CNAME loop as unknown, within one response or across several', async () => {
    expect(await client.query('loop-a.neg.test', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'cname_loop',
    });
    noChase.clearLog();
    expect(await requery.query('loop-a.neg.test', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'cname_loop',
    });
    expect(noChase.queryLog.map((q) => q.name)).toEqual(['loop-a.neg.test', 'loop-b.neg.test']);
  });

  it('follows at most 8 CNAMEs', async () => {
    expect(await client.query('c-ok-0.neg.test', 'A')).toMatchObject({
      status: 'answer',
      records: ['192.0.2.3'],
    });
    // c0 -> ... -> c10: ten CNAMEs.
    expect(await client.query('c0.neg.test', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'cname_loop',
      detail: expect.stringContaining('more than 8'),
    });
    expect(await requery.query('c0.neg.test', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'cname_loop',
    });
    expect(noChase.queriesFor('c9.neg.test')).toHaveLength(0);
  });

  it('is unknown when the chain leaves for a zone the upstream refuses', async () => {
    expect(await requery.query('outside.neg.test', 'A')).toMatchObject({
      status: 'answer',
      cnameChain: ['host.other.test'],
      records: ['192.0.2.9'],
    });
    noChase.removeZone('other.test');
    expect(await requery.query('outside.neg.test', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'refused',
    });
  });
});
