/**
 * Every record type, decoded from a real server's answers, over each way an answer can travel:
 * UDP, TCP after a truncated UDP answer, and pipelined TCP.
 */
import type { DnskeyFields, Nsec3Fields, NsecFields, RecordType, RrsigFields } from '@mailwarden/core';
import {
  encodeRdata,
  type FixtureRrsig,
  startDnsServer,
  type TestDnsServer,
  type Zones,
} from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsClient, type DnsClient } from './client.ts';

const publicKey = new Uint8Array(Array.from({ length: 64 }, (_, i) => i));
const rrsig: FixtureRrsig = {
  typeCovered: 'A',
  algorithm: 13,
  labels: 2,
  originalTtl: 300,
  expiration: 1_900_000_000,
  inception: 1_800_000_000,
  keyTag: 4711,
  signerName: 'Records.Test',
  signature: new Uint8Array(64).fill(0xab),
};
const nsec3 = {
  hashAlgorithm: 1,
  flags: 0,
  iterations: 0,
  salt: new Uint8Array([0xaa, 0xbb]),
  nextHashedOwner: new Uint8Array(20).fill(0x11),
  types: ['A', 'RRSIG'],
};

const zones: Zones = {
  'records.test': {
    records: {
      '@': {
        A: ['192.0.2.1', '192.0.2.2'],
        AAAA: ['2001:db8::1', '2001:db8:0:1:0:0:0:1'],
        MX: [
          { preference: 10, exchange: 'MX1.records.test' },
          { preference: 20, exchange: 'mx2.records.test' },
        ],
        TXT: [
          'v=spf1 -all',
          ['first ', 'second'],
          'x'.repeat(300), // split into 255 + 45 by the server, as RFC 1035 §3.3.14 requires
          [new Uint8Array([0x76, 0x3d, 0xff])], // not UTF-8
        ],
        NS: ['ns1.records.test'],
        CAA: [{ flags: 128, tag: 'issue', value: 'ca.example' }],
        DNSKEY: [{ flags: 257, algorithm: 13, publicKey }],
        RRSIG: [rrsig],
        NSEC: [{ nextName: 'mx1.records.test', types: ['A', 'MX', 'TXT', 'RRSIG', 'NSEC', 'DNSKEY'] }],
      },
      nullmx: { MX: [{ preference: 0, exchange: '.' }] },
      child: { DS: [{ keyTag: 60485, algorithm: 5, digestType: 2, digest: 'AB'.repeat(32) }] },
      '_25._tcp.mx1': { TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: 'C0FFEE'.repeat(4) }] },
      '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom': { NSEC3: [nsec3] },
    },
  },
  '2.0.192.in-addr.arpa': { records: { '1': { PTR: ['mx1.records.test'] } } },
};

type Case = [string, RecordType, unknown];
const cases: Case[] = [
  ['records.test', 'A', ['192.0.2.1', '192.0.2.2']],
  ['records.test', 'AAAA', ['2001:db8::1', '2001:db8:0:1::1']],
  [
    'records.test',
    'MX',
    [
      { preference: 10, exchange: 'mx1.records.test' },
      { preference: 20, exchange: 'mx2.records.test' },
    ],
  ],
  [
    'records.test',
    'TXT',
    [['v=spf1 -all'], ['first ', 'second'], ['x'.repeat(255), 'x'.repeat(45)], ['v=\u00ff']],
  ],
  ['records.test', 'NS', ['ns1.records.test']],
  [
    'records.test',
    'SOA',
    [
      {
        mname: 'ns1.records.test',
        rname: 'hostmaster.records.test',
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: 300,
      },
    ],
  ],
  ['1.2.0.192.in-addr.arpa', 'PTR', ['mx1.records.test']],
  ['nullmx.records.test', 'MX', [{ preference: 0, exchange: '.' }]],
  [
    '_25._tcp.mx1.records.test',
    'TLSA',
    [{ usage: 3, selector: 1, matchingType: 1, data: 'c0ffee'.repeat(4) }],
  ],
  ['records.test', 'CAA', [{ flags: 128, tag: 'issue', value: 'ca.example' }]],
  ['child.records.test', 'DS', [{ keyTag: 60485, algorithm: 5, digestType: 2, digest: 'ab'.repeat(32) }]],
  ['records.test', 'DNSKEY', [{ flags: 257, protocol: 3, algorithm: 13, publicKey }]],
  [
    'records.test',
    'NSEC',
    [{ nextName: 'mx1.records.test', types: ['A', 'MX', 'TXT', 'RRSIG', 'NSEC', 'DNSKEY'] }],
  ],
  ['0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.records.test', 'NSEC3', [nsec3]],
];

const modes = ['udp', 'tcp-after-truncation', 'tcp-pipelined'] as const;

describe.each(modes)('record types over %s', (mode) => {
  let server: TestDnsServer;
  let client: DnsClient;

  beforeAll(async () => {
    server = await startDnsServer({ host: '127.0.0.1', zones });
    if (mode === 'tcp-after-truncation') server.setFault('*', { kind: 'truncate', transport: 'udp' });
    client = createDnsClient({
      servers: [{ host: server.host, port: server.port }],
      transport: mode === 'tcp-pipelined' ? 'tcp' : 'udp',
      cache: false,
    });
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it.each(cases)('%s %s', async (name, type, expected) => {
    server.clearLog();
    const result = await client.query(name, type);
    expect(result).toMatchObject({ status: 'answer', name, type, cnameChain: [], authenticData: false });
    if (result.status !== 'answer') return;
    expect(result.records).toMatchObject(expected as object[]);
    expect(result.ttlSeconds).toBe(type === 'SOA' ? 3600 : 300);
    const transports = server.queriesFor(name, type).map((q) => q.transport);
    expect(transports).toEqual(
      mode === 'udp' ? ['udp'] : mode === 'tcp-pipelined' ? ['tcp'] : ['udp', 'tcp'],
    );
  });

  it('keeps the exact RDATA of DNSSEC records and parses their fields', async () => {
    const [dnskey, rrsigs, nsec, nsec3s] = await Promise.all([
      client.query('records.test', 'DNSKEY'),
      client.query('records.test', 'RRSIG'),
      client.query('records.test', 'NSEC'),
      client.query('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.records.test', 'NSEC3'),
    ]);
    if (dnskey.status !== 'answer' || rrsigs.status !== 'answer' || nsec.status !== 'answer')
      throw new Error();
    if (nsec3s.status !== 'answer') throw new Error();
    const key = dnskey.records[0] as DnskeyFields;
    expect(Buffer.from(key.rdata)).toEqual(encodeRdata('DNSKEY', { flags: 257, algorithm: 13, publicKey }));
    expect(key.keyTag).toBeGreaterThan(0);
    const sig = rrsigs.records[0] as RrsigFields;
    expect(Buffer.from(sig.rdata)).toEqual(encodeRdata('RRSIG', rrsig));
    // The signer keeps its case in the RDATA (the validator canonicalises); the field is lower-case.
    expect(sig).toMatchObject({
      typeCovered: 'A',
      signerName: 'records.test',
      keyTag: 4711,
      originalTtl: 300,
    });
    expect(Buffer.from(sig.signature)).toEqual(Buffer.alloc(64, 0xab));
    expect((nsec.records[0] as NsecFields).types).toEqual(['A', 'MX', 'TXT', 'RRSIG', 'NSEC', 'DNSKEY']);
    const n3 = nsec3s.records[0] as Nsec3Fields;
    expect(Buffer.from(n3.rdata)).toEqual(encodeRdata('NSEC3', nsec3));
    expect(n3.types).toEqual(['A', 'RRSIG']);
  });

  it('with DO set, returns the RRSIGs beside the answer for the validator', async () => {
    const result = await client.query('records.test', 'A', { dnssecOk: true });
    if (result.status !== 'answer') throw new Error(result.status);
    expect(result.records).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(result.dnssec?.answer.map((r) => r.type)).toEqual(['A', 'A', 'RRSIG']);
    expect(Buffer.from(result.dnssec?.answer[2]?.rdata ?? [])).toEqual(encodeRdata('RRSIG', rrsig));
    const negative = await client.query('nothing.records.test', 'A', { dnssecOk: true });
    expect(negative).toMatchObject({ status: 'nxdomain', dnssec: { answer: [] } });
    // The SOA for the negative TTL, plus whatever denial proof the zone holds (RFC 4035 §3.1.3).
    expect(negative.status === 'nxdomain' && negative.dnssec?.authority.map((r) => r.type)).toContain('SOA');
    const plain = await client.query('records.test', 'A');
    expect(plain).not.toHaveProperty('dnssec');
  });

  it('normalises the name asked: case and trailing dot', async () => {
    const result = await client.query('RECORDS.Test.', 'A');
    expect(result).toMatchObject({ status: 'answer', name: 'records.test' });
  });
});
