/**
 * Getting an answer at all: TCP fallback, servers that fail in each way, retries across servers
 * and the memory of dead ones, and the header bits the server sees.
 */
import { manualClock } from '@mailwarden/core';
import { startDnsServer, type TestDnsServer, type Zones } from '@mailwarden/testing/dns-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDnsClient, type DnsClient } from './client.ts';
import type { DnsClientOptions } from './options.ts';

const zones: Zones = { 'net.test': { records: { '@': { A: ['192.0.2.1'] }, a: { A: ['192.0.2.2'] } } } };
const opened: DnsClient[] = [];
const servers: TestDnsServer[] = [];

function clientFor(list: TestDnsServer[], options: Partial<DnsClientOptions> = {}): DnsClient {
  const client = createDnsClient({
    servers: list.map((s) => ({ host: s.host, port: s.port })),
    timeoutMs: 250,
    cache: false,
    ...options,
  });
  opened.push(client);
  return client;
}

async function server(options: Parameters<typeof startDnsServer>[0] = {}): Promise<TestDnsServer> {
  const s = await startDnsServer({ host: '127.0.0.1', zones, ...options });
  servers.push(s);
  return s;
}

let main: TestDnsServer;
beforeAll(async () => {
  main = await server();
});
afterEach(() => {
  main.clearFaults();
  main.clearLog();
});
afterAll(async () => {
  for (const c of opened) c.close();
  await Promise.all(servers.map((s) => s.close()));
});

describe('truncation', () => {
  it('retries over TCP when the UDP answer is truncated (RFC 7766 §5)', async () => {
    main.setFault('net.test', { kind: 'truncate' });
    const client = clientFor([main]);
    expect(await client.query('net.test', 'A')).toMatchObject({ status: 'answer', records: ['192.0.2.1'] });
    expect(main.queriesFor('net.test').map((q) => q.transport)).toEqual(['udp', 'tcp']);
    expect(client.stats()).toMatchObject({ udpQueriesSent: 1, tcpQueriesSent: 1, queriesSent: 2 });
  });

  it('is unknown(truncated) when TCP truncates too, hangs up, or is not there', async () => {
    const client = clientFor([main]);
    main.setFault('net.test', { kind: 'truncate', tcp: 'truncate' });
    expect(await client.query('net.test', 'A')).toMatchObject({ status: 'unknown', reason: 'truncated' });
    main.setFault('net.test', { kind: 'truncate', tcp: 'close' });
    expect(await client.query('net.test', 'A')).toMatchObject({ status: 'unknown', reason: 'truncated' });
    const udpOnly = await server({ tcp: false });
    udpOnly.setFault('net.test', { kind: 'truncate' });
    expect(await clientFor([udpOnly]).query('net.test', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'truncated',
      detail: expect.stringContaining('ECONNREFUSED'),
    });
  });
});

describe('failing servers', () => {
  it('retries a dropped query on the next server, then skips the dead one until its back-off ends', async () => {
    const clock = manualClock();
    const dead = await server();
    dead.setFault('*', { kind: 'drop' });
    const client = clientFor([dead, main], { clock, backoff: { baseMs: 5000 }, timeoutMs: 800 });

    expect(await client.query('net.test', 'A')).toMatchObject({ status: 'answer' });
    expect(dead.queryLog).toHaveLength(1);
    expect(client.downServers()).toEqual([{ host: dead.host, port: dead.port }]);

    const started = performance.now();
    expect(await client.query('a.net.test', 'A')).toMatchObject({ status: 'answer' });
    expect(performance.now() - started).toBeLessThan(400); // no timeout paid
    expect(dead.queryLog).toHaveLength(1);

    clock.advance(5001);
    expect(await client.query('net.test', 'A')).toMatchObject({ status: 'answer' });
    expect(dead.queryLog).toHaveLength(2); // tried first again once the back-off was over
    expect(client.stats().timeouts).toBe(2);
  });

  it('retries the same server once when it is the only one', async () => {
    main.setFault('net.test', { kind: 'drop', times: 1 });
    expect(await clientFor([main]).query('net.test', 'A')).toMatchObject({ status: 'answer' });
    expect(main.queriesFor('net.test')).toHaveLength(2);
  });

  it('gives unknown(timeout) when nothing answers, after `attempts` tries', async () => {
    main.setFault('*', { kind: 'drop' });
    const started = performance.now();
    expect(await clientFor([main], { attempts: 3 }).query('net.test', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'timeout',
    });
    expect(performance.now() - started).toBeLessThan(3 * 250 + 300);
    expect(main.queriesFor('net.test')).toHaveLength(3);
  });

  it('turns SERVFAIL, REFUSED, FORMERR and NOTIMP into unknown with their reason', async () => {
    const client = clientFor([main]);
    for (const [rcode, reason] of [
      [2, 'servfail'],
      [5, 'refused'],
      [1, 'formerr'],
      [4, 'notimp'],
    ] as const) {
      main.setFault('net.test', { kind: 'rcode', rcode });
      expect(await client.query('net.test', 'A')).toMatchObject({ status: 'unknown', reason });
    }
    // Asked once each: an error answer is not retried on the server that gave it.
    expect(main.queriesFor('net.test')).toHaveLength(4);
    expect(client.downServers()).toEqual([]);
  });

  it('asks the next server after a SERVFAIL, without marking the first one dead', async () => {
    const failing = await server();
    failing.setFault('*', { kind: 'rcode', rcode: 2 });
    const client = clientFor([failing, main]);
    expect(await client.query('net.test', 'A')).toMatchObject({ status: 'answer' });
    expect(client.downServers()).toEqual([]);
  });

  it('notices a closed port at once (ICMP unreachable on a connected socket), not after a timeout', async () => {
    const gone = await server();
    const address = { host: gone.host, port: gone.port };
    await gone.close();
    const client = createDnsClient({
      servers: [address, { host: main.host, port: main.port }],
      timeoutMs: 2000,
    });
    opened.push(client);
    const started = performance.now();
    expect(await client.query('net.test', 'A')).toMatchObject({ status: 'answer' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(client.downServers()).toEqual([address]);
  });
});

describe('what the server sees', () => {
  it('EDNS0 with a 1232-byte payload, RD, and the DO and CD bits only when asked', async () => {
    const client = clientFor([main]);
    await client.query('net.test', 'A');
    await client.query('net.test', 'A', { dnssecOk: true });
    await client.query('net.test', 'A', { checkingDisabled: true });
    expect(
      main
        .queriesFor('net.test')
        .map((q) => [q.edns, q.udpPayloadSize, q.recursionDesired, q.dnssecOk, q.checkingDisabled]),
    ).toEqual([
      [true, 1232, true, false, false],
      [true, 1232, true, true, false],
      [true, 1232, true, false, true],
    ]);
  });

  it('random ids, and few source ports reused across queries', async () => {
    const client = clientFor([main], { socketsPerServer: 2, maxQueriesPerSocket: 5 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.query(`n${i}.net.test`, 'A')));
    const log = main.queryLog;
    expect(new Set(log.map((q) => q.id)).size).toBeGreaterThan(15);
    // 20 queries, 2 sockets, a fresh socket every 5 queries: 4 distinct ports.
    expect(new Set(log.map((q) => q.remote)).size).toBe(4);
  });

  it('works with an IPv6 server', async () => {
    const v6 = await server({ host: '::1' });
    expect(await clientFor([v6]).query('a.net.test', 'A')).toMatchObject({
      status: 'answer',
      records: ['192.0.2.2'],
    });
  });
});

describe('pipelined TCP transport', () => {
  it('sends concurrent queries on one connection', async () => {
    const client = clientFor([main], { transport: 'tcp' });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.query(`h${i}.net.test`, 'A')),
    );
    expect(results.every((r) => r.status === 'nxdomain')).toBe(true);
    expect(new Set(main.queryLog.map((q) => `${q.transport} ${q.remote}`)).size).toBe(1);
  });

  it('sends again what a closed connection took down, once; the query that kills it ends unknown', async () => {
    const client = clientFor([main], { transport: 'tcp', attempts: 1 });
    await client.query('net.test', 'A'); // the connection has answered once
    main.setFault('a.net.test', { kind: 'truncate', tcp: 'close' });
    const [bystander, victim] = await Promise.all([
      client.query('net.test', 'A'),
      client.query('a.net.test', 'A'),
    ]);
    expect(bystander).toMatchObject({ status: 'answer' });
    expect(victim).toMatchObject({ status: 'unknown', reason: 'network' });
  });
});
