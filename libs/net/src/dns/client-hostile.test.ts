/**
 * Hostile and broken answers end as `unknown` (or are ignored) — never a throw, a hang or a
 * wrong answer.
 */
import { startDnsServer, type TestDnsServer, type Zones } from '@mailwarden/testing/dns-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDnsClient, type DnsClient } from './client.ts';
import type { DnsClientOptions } from './options.ts';

const zones: Zones = {
  'bad.test': {
    records: {
      '@': { A: ['192.0.2.1'], TXT: Array.from({ length: 20 }, (_, i) => `spf-ish record number ${i}`) },
      many: { A: Array.from({ length: 300 }, (_, i) => `10.0.${i >> 8}.${i & 0xff}`) },
    },
  },
};

let server: TestDnsServer;
const opened: DnsClient[] = [];

function clientFor(options: Partial<DnsClientOptions> = {}): DnsClient {
  const client = createDnsClient({
    servers: [{ host: server.host, port: server.port }],
    timeoutMs: 200,
    attempts: 1,
    cache: false,
    ...options,
  });
  opened.push(client);
  return client;
}

/** Header and question of `query`, turned into a response carrying `answer` as its only record. */
function respond(query: Buffer, answer: number[]): Buffer {
  let end = 12;
  while (query[end] !== 0) end += (query[end] as number) + 1;
  end += 5;
  const head = Buffer.from(query.subarray(0, end));
  head.writeUInt16BE(0x8580, 2); // QR AA RD RA, NOERROR
  head.writeUInt16BE(1, 6);
  head.writeUInt16BE(0, 10);
  return Buffer.concat([head, Buffer.from(answer)]);
}
const rrHead = (type: number, rdlength: number) => [
  0xc0,
  12,
  0,
  type,
  0,
  1,
  0,
  0,
  1,
  44,
  rdlength >> 8,
  rdlength & 0xff,
];

beforeAll(async () => {
  server = await startDnsServer({ host: '127.0.0.1', zones });
});
afterEach(() => server.clearFaults());
afterAll(async () => {
  for (const c of opened) c.close();
  await server.close();
});

describe('broken packets', () => {
  it.each(['truncated_rr', 'bad_rdlength', 'short'] as const)(
    'a %s answer is unknown(malformed)',
    async (variant) => {
      server.setFault('bad.test', { kind: 'malformed', variant });
      expect(await clientFor().query('bad.test', 'A')).toMatchObject({
        status: 'unknown',
        reason: 'malformed',
      });
    },
  );

  it.each(['self', 'forward'] as const)(
    'a %s compression-pointer loop in an answer is unknown(malformed)',
    async (variant) => {
      server.setFault('bad.test', { kind: 'pointer_loop', variant });
      const started = performance.now();
      expect(await clientFor({ timeoutMs: 1500 }).query('bad.test', 'A')).toMatchObject({
        status: 'unknown',
        reason: 'malformed',
        detail: expect.stringMatching(/pointer/),
      });
      expect(performance.now() - started).toBeLessThan(750); // decided at once, not by the timeout
    },
  );

  it('a pointer loop in the question cannot be matched to our query: ignored, then timeout', async () => {
    server.setFault('bad.test', { kind: 'pointer_loop', inQuestion: true });
    const client = clientFor();
    expect(await client.query('bad.test', 'A')).toMatchObject({ status: 'unknown', reason: 'timeout' });
    expect(client.stats().strayPackets).toBe(1);
  });

  it('RDATA that does not fit its RDLENGTH is unknown(malformed)', async () => {
    // An A record of 5 bytes; an MX whose exchange name runs past its RDLENGTH.
    server.setFault('bad.test', {
      kind: 'raw',
      build: (q) => respond(q, [...rrHead(1, 5), 192, 0, 2, 1, 9]),
    });
    expect(await clientFor().query('bad.test', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'malformed',
    });
    server.setFault('bad.test', {
      kind: 'raw',
      build: (q) => respond(q, [...rrHead(15, 4), 0, 10, 2, 0x6d, 0x78, 0xc0, 12]),
    });
    expect(await clientFor().query('bad.test', 'MX')).toMatchObject({
      status: 'unknown',
      reason: 'malformed',
    });
  });

  it('decompresses names in answers, and hands the validator uncompressed RDATA', async () => {
    // Owner: pointer to the question name; exchange: "mx" + pointer to it (RFC 1035 §4.1.4).
    server.setFault('bad.test', {
      kind: 'raw',
      build: (q) => respond(q, [...rrHead(15, 7), 0, 10, 2, 0x6d, 0x78, 0xc0, 12]),
    });
    const result = await clientFor().query('bad.test', 'MX', { dnssecOk: true });
    expect(result).toMatchObject({
      status: 'answer',
      records: [{ preference: 10, exchange: 'mx.bad.test' }],
    });
    if (result.status !== 'answer') return;
    expect(Buffer.from(result.dnssec?.answer[0]?.rdata ?? [])).toEqual(
      Buffer.from([0, 10, 2, 0x6d, 0x78, 3, 0x62, 0x61, 0x64, 4, 0x74, 0x65, 0x73, 0x74, 0]),
    );
  });
  it('writes out every name of SOA and NS RDATA for the validator, case kept', async () => {
    // SOA: MNAME a pointer to the question name, RNAME "Host" + a pointer, then the five numbers.
    const numbers = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5];
    server.setFault('bad.test', {
      kind: 'raw',
      build: (q) =>
        respond(q, [...rrHead(6, 2 + 7 + 20), 0xc0, 12, 4, 0x48, 0x6f, 0x73, 0x74, 0xc0, 12, ...numbers]),
    });
    const soa = await clientFor().query('bad.test', 'SOA', { dnssecOk: true });
    const qname = [3, 0x62, 0x61, 0x64, 4, 0x74, 0x65, 0x73, 0x74, 0];
    if (soa.status !== 'answer') throw new Error(`expected an answer, got ${soa.status}`);
    expect(Buffer.from(soa.dnssec?.answer[0]?.rdata ?? [])).toEqual(
      Buffer.from([...qname, 4, 0x48, 0x6f, 0x73, 0x74, ...qname, ...numbers]),
    );
    server.setFault('bad.test', {
      kind: 'raw',
      build: (q) => respond(q, [...rrHead(2, 5), 2, 0x6e, 0x73, 0xc0, 12]),
    });
    const ns = await clientFor().query('bad.test', 'NS', { dnssecOk: true });
    if (ns.status !== 'answer') throw new Error(`expected an answer, got ${ns.status}`);
    expect(Buffer.from(ns.dnssec?.answer[0]?.rdata ?? [])).toEqual(Buffer.from([2, 0x6e, 0x73, ...qname]));
  });

  it('refuses a compression pointer that does not point back, in records only the validator reads', async () => {
    // An A answer, then an NS record at the same owner whose name points at itself: the typed
    // answer never reads it, the validator's copy of the section does.
    const a = [...rrHead(1, 4), 192, 0, 2, 1];
    const selfAt = 12 + 14 + a.length + 12;
    server.setFault('bad.test', {
      kind: 'raw',
      build: (q) => {
        const packet = respond(q, [...a, ...rrHead(2, 2), 0xc0, selfAt]);
        packet.writeUInt16BE(2, 6);
        return packet;
      },
    });
    expect(await clientFor().query('bad.test', 'A')).toMatchObject({
      status: 'answer',
      records: ['192.0.2.1'],
    });
    expect(await clientFor().query('bad.test', 'A', { dnssecOk: true })).toMatchObject({
      status: 'unknown',
      reason: 'malformed',
    });
  });
});

describe('spoofing', () => {
  it.each(['wrong_id', 'wrong_question'] as const)(
    'a response with the %s is ignored and the real one taken',
    async (kind) => {
      server.setFault('bad.test', { kind, thenAnswer: true });
      const client = clientFor({ timeoutMs: 1000 });
      expect(await client.query('bad.test', 'A')).toMatchObject({ status: 'answer', records: ['192.0.2.1'] });
      expect(client.stats().strayPackets).toBe(1);
    },
  );

  it('only spoofed responses: unknown(timeout), never their data', async () => {
    server.setFault('bad.test', { kind: 'wrong_question' });
    expect(await clientFor().query('bad.test', 'A')).toMatchObject({ status: 'unknown', reason: 'timeout' });
  });
});

describe('size caps', () => {
  it('10 000 TXT strings: unknown(too_large), over UDP+TCP and over pipelined TCP', async () => {
    server.setFault('bad.test', { kind: 'huge', type: 'TXT' });
    for (const transport of ['udp', 'tcp'] as const) {
      const client = clientFor({ transport, timeoutMs: 2000 });
      expect(await client.query('bad.test', 'TXT')).toMatchObject({ status: 'unknown', reason: 'too_large' });
      // The connection stays usable after the oversized message was skipped.
      expect(await client.query('bad.test', 'A')).toMatchObject({ status: 'answer' });
    }
  });

  it('10 000 TXT strings within the response cap still hit the TXT cap', async () => {
    server.setFault('bad.test', { kind: 'huge', type: 'TXT' });
    const client = clientFor({ timeoutMs: 2000, limits: { maxResponseBytes: 65_535 } });
    expect(await client.query('bad.test', 'TXT')).toMatchObject({
      status: 'unknown',
      reason: 'too_large',
      detail: expect.stringContaining('TXT'),
    });
  });

  it('caps the number of answer records and the TXT bytes of one RRset', async () => {
    expect(await clientFor({ timeoutMs: 2000 }).query('many.bad.test', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'too_large',
    });
    expect(await clientFor({ limits: { maxTxtBytes: 200 } }).query('bad.test', 'TXT')).toMatchObject({
      status: 'unknown',
      reason: 'too_large',
    });
    expect(await clientFor().query('bad.test', 'TXT')).toMatchObject({ status: 'answer' });
  });
});

describe('bad input', () => {
  it('a name that cannot be sent is unknown(malformed) without any query', async () => {
    server.clearLog();
    const client = clientFor();
    for (const name of ['a..b', 'x'.repeat(64), 'spaced name.test', 'bücher.test']) {
      expect(await client.query(name, 'A')).toMatchObject({ status: 'unknown', reason: 'malformed', name });
    }
    expect(server.queryLog).toHaveLength(0);
    expect(client.stats().queriesSent).toBe(0);
  });

  it('after close, queries end as unknown(network) instead of throwing', async () => {
    const client = clientFor();
    client.close();
    expect(await client.query('bad.test', 'A')).toMatchObject({ status: 'unknown', reason: 'network' });
  });
});
