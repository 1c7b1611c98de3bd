/**
 * The fixture server, seen from the wire: raw queries with dns-packet over UDP and TCP, so the
 * server is tested independently of the client that is later tested against it.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from './index.ts';

/** What dns-packet's decode returns, more loosely typed than its declarations allow for tests. */
interface LooseRecord {
  type: string;
  name: string;
  ttl?: number;
  data?: unknown;
  flag_do?: boolean;
}
type Packet = Omit<dnsPacket.DecodedPacket, 'answers' | 'authorities' | 'additionals' | 'questions'> & {
  rcode: string;
  questions: dnsPacket.Question[];
  answers: LooseRecord[];
  authorities: LooseRecord[];
  additionals: LooseRecord[];
};
const decode = (buf: Buffer) => dnsPacket.decode(buf) as unknown as Packet;
const RCODE = (p: Packet) => p.rcode;

function query(name: string, type: string, opts: { id?: number; edns?: number; dnssecOk?: boolean } = {}) {
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as dnsPacket.RecordType, name }],
    additionals:
      opts.edns === undefined
        ? []
        : [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: opts.edns,
              flags: opts.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
            } as dnsPacket.Answer,
          ],
  });
}

/** Every datagram that arrives within `waitMs` (or the first, when `waitMs` is 0). */
async function udpRaw(server: TestDnsServer, bytes: Buffer, waitMs = 0): Promise<Buffer[]> {
  const socket = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  return new Promise((resolve) => {
    const done = () => {
      socket.close();
      resolve(got);
    };
    const timer = setTimeout(done, waitMs || 1000);
    socket.on('message', (msg) => {
      got.push(msg);
      if (waitMs === 0) {
        clearTimeout(timer);
        done();
      }
    });
    socket.send(bytes, server.port, server.host);
  });
}

async function udp(server: TestDnsServer, bytes: Buffer): Promise<Packet> {
  const [first] = await udpRaw(server, bytes);
  if (!first) throw new Error('no answer over UDP');
  return decode(first);
}

/** Send several framed queries on one connection; collect `expect` framed answers. */
async function tcp(server: TestDnsServer, queries: Buffer[], expected = queries.length): Promise<Packet[]> {
  const socket = net.connect(server.port, server.host);
  const frames = queries.map((q) => Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]));
  socket.write(Buffer.concat(frames));
  let buf = Buffer.alloc(0);
  const out: Packet[] = [];
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length >= expected) {
        socket.destroy();
        resolve(out);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
  });
}

let server: TestDnsServer;

beforeAll(async () => {
  server = await startDnsServer({
    host: '127.0.0.1',
    zones: {
      'example.test': {
        soa: { ttl: 600, minimum: 120 },
        records: {
          '@': { MX: [{ preference: 10, exchange: 'mx.example.test' }], TXT: ['v=spf1 -all'] },
          mx: { A: { ttl: 60, values: ['192.0.2.10'] } },
          'deep.below.ent': { A: ['192.0.2.20'] },
          www: { CNAME: ['mx.example.test'] },
          '*.wild': { TXT: ['from the wildcard'] },
          'real.wild': { A: ['192.0.2.30'] },
          big: { TXT: Array.from({ length: 40 }, (_, i) => `record ${i} ${'x'.repeat(40)}`) },
          child: { DS: [{ keyTag: 12345, algorithm: 13, digestType: 2, digest: 'ab'.repeat(32) }] },
          signed: {
            A: ['192.0.2.40'],
            RRSIG: [
              {
                typeCovered: 'A',
                algorithm: 13,
                labels: 3,
                originalTtl: 300,
                expiration: 2_000_000_000,
                inception: 1_700_000_000,
                keyTag: 4711,
                signerName: 'example.test',
                signature: new Uint8Array(64).fill(7),
              },
            ],
          },
        },
      },
      'child.example.test': { records: { '@': { A: ['192.0.2.50'] } } },
    },
  });
});

afterAll(async () => {
  await server.close();
});

describe('test DNS server: authoritative answers', () => {
  it('answers with AA, echoes the question as sent and logs the query', async () => {
    server.clearLog();
    const res = await udp(server, query('MX.Example.TEST', 'A'));
    expect(res.id).toBe(4242);
    expect(res.flag_aa).toBe(true);
    expect(res.questions[0]?.name).toBe('MX.Example.TEST');
    expect(res.answers).toMatchObject([{ type: 'A', name: 'mx.example.test', ttl: 60, data: '192.0.2.10' }]);
    expect(server.queriesFor('mx.example.test.', 'A')).toMatchObject([
      { transport: 'udp', recursionDesired: true, edns: false, dnssecOk: false },
    ]);
  });

  it('tells NXDOMAIN from NODATA, empty non-terminals included, with the zone SOA', async () => {
    const nx = await udp(server, query('missing.example.test', 'A'));
    expect(RCODE(nx)).toBe('NXDOMAIN');
    expect(nx.authorities).toMatchObject([
      { type: 'SOA', name: 'example.test', ttl: 600, data: { minimum: 120 } },
    ]);
    const nodata = await udp(server, query('mx.example.test', 'TXT'));
    expect(RCODE(nodata)).toBe('NOERROR');
    expect(nodata.answers).toHaveLength(0);
    expect(nodata.authorities[0]?.type).toBe('SOA');
    // RFC 8020: below.ent exists because deep.below.ent does.
    const ent = await udp(server, query('below.ent.example.test', 'A'));
    expect(RCODE(ent)).toBe('NOERROR');
    expect(ent.answers).toHaveLength(0);
  });

  it('synthesises from wildcards only for names that do not exist (RFC 4592)', async () => {
    const wild = await udp(server, query('anything.wild.example.test', 'TXT'));
    expect(wild.answers).toMatchObject([{ name: 'anything.wild.example.test', type: 'TXT' }]);
    const real = await udp(server, query('real.wild.example.test', 'TXT'));
    expect(real.answers).toHaveLength(0);
    expect(RCODE(real)).toBe('NOERROR');
  });

  it('follows CNAMEs inside its zones, and answers DS from the parent side of a cut', async () => {
    const res = await udp(server, query('www.example.test', 'A'));
    expect(res.answers.map((a) => a.type)).toEqual(['CNAME', 'A']);
    const ds = await udp(server, query('child.example.test', 'DS'));
    expect(ds.answers).toMatchObject([{ type: 'DS', name: 'child.example.test' }]);
    const a = await udp(server, query('child.example.test', 'A'));
    expect(a.answers).toMatchObject([{ data: '192.0.2.50' }]);
  });

  it('refuses names outside its zones', async () => {
    expect(RCODE(await udp(server, query('example.org', 'A')))).toBe('REFUSED');
  });

  it('adds RRSIGs only when the DO bit is set (RFC 3225)', async () => {
    const plain = await udp(server, query('signed.example.test', 'A', { edns: 1232 }));
    expect(plain.answers.map((a) => a.type)).toEqual(['A']);
    const withDo = await udp(server, query('signed.example.test', 'A', { edns: 1232, dnssecOk: true }));
    expect(withDo.answers.map((a) => a.type)).toEqual(['A', 'RRSIG']);
    expect(withDo.additionals).toMatchObject([{ type: 'OPT', flag_do: true }]);
  });

  it('truncates at 512 bytes without EDNS, fits more with it, and answers in full over TCP', async () => {
    const noEdns = await udp(server, query('big.example.test', 'TXT'));
    expect(noEdns.flag_tc).toBe(true);
    expect(noEdns.answers).toHaveLength(0);
    const edns = await udp(server, query('big.example.test', 'TXT', { edns: 4096 }));
    expect(edns.flag_tc).toBe(true); // ~2.4 KB > our 1232-byte cap
    const [full] = await tcp(server, [query('big.example.test', 'TXT')]);
    expect(full?.answers).toHaveLength(40);
  });

  it('answers pipelined TCP queries on one connection', async () => {
    const answers = await tcp(server, [
      query('mx.example.test', 'A', { id: 1 }),
      query('example.test', 'MX', { id: 2 }),
      query('missing.example.test', 'A', { id: 3 }),
    ]);
    expect(answers.map((a) => a.id).sort()).toEqual([1, 2, 3]);
  });

  it('serves changes made at runtime', async () => {
    server.setRecords('mx.example.test', 'A', ['192.0.2.99']);
    expect((await udp(server, query('mx.example.test', 'A'))).answers[0]?.data).toBe('192.0.2.99');
    server.deleteRecords('mx.example.test', 'A');
    expect((await udp(server, query('mx.example.test', 'A'))).answers).toHaveLength(0);
    server.setRecords('mx.example.test', 'A', { ttl: 60, values: ['192.0.2.10'] });
    expect(() => server.setRecords('example.org', 'A', ['192.0.2.1'])).toThrow(/no fixture zone/);
  });
});

describe('test DNS server: faults', () => {
  it('drops, delays and answers with a chosen RCODE, per name and type, a limited number of times', async () => {
    server.setFault('mx.example.test', { kind: 'drop', type: 'A', times: 1 });
    expect(await udpRaw(server, query('mx.example.test', 'A'), 200)).toHaveLength(0);
    expect((await udp(server, query('mx.example.test', 'A'))).answers).toHaveLength(1);
    server.setFault('mx.example.test', { kind: 'rcode', rcode: 2 });
    expect(RCODE(await udp(server, query('mx.example.test', 'TXT')))).toBe('SERVFAIL');
    server.setFault('mx.example.test', { kind: 'delay', ms: 150 });
    const started = Date.now();
    await udp(server, query('mx.example.test', 'A'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    server.clearFaults('mx.example.test');
  });

  it('truncates over UDP and, depending on the mode, answers, truncates or hangs up over TCP', async () => {
    server.setFault('mx.example.test', { kind: 'truncate' });
    expect((await udp(server, query('mx.example.test', 'A'))).flag_tc).toBe(true);
    expect((await tcp(server, [query('mx.example.test', 'A')]))[0]?.answers).toHaveLength(1);
    server.setFault('mx.example.test', { kind: 'truncate', tcp: 'truncate' });
    expect((await tcp(server, [query('mx.example.test', 'A')]))[0]?.flag_tc).toBe(true);
    server.setFault('mx.example.test', { kind: 'truncate', tcp: 'close' });
    expect(await tcp(server, [query('mx.example.test', 'A')])).toHaveLength(0);
    server.clearFaults();
  });

  it('sends a 10 000-string TXT answer over TCP', async () => {
    server.setFault('example.test', { kind: 'huge', type: 'TXT' });
    expect((await udp(server, query('example.test', 'TXT', { edns: 1232 }))).flag_tc).toBe(true);
    const [res] = await tcp(server, [query('example.test', 'TXT')]);
    const strings = res?.answers[0]?.data as Buffer[];
    expect(strings).toHaveLength(10_000);
    server.clearFaults();
  });

  it('sends broken packets: cut-short records, pointer loops, wrong ids and questions', async () => {
    const id = 777;
    const [whole] = await udpRaw(server, query('mx.example.test', 'A', { id }));
    server.setFault('mx.example.test', { kind: 'malformed' });
    const [cut] = await udpRaw(server, query('mx.example.test', 'A', { id }));
    expect(cut?.readUInt16BE(0)).toBe(id);
    // Same header and question, one answer announced, its RDATA three bytes short.
    expect(cut?.readUInt16BE(6)).toBe(1);
    expect(cut?.length).toBe((whole?.length ?? 0) - 3);

    server.setFault('mx.example.test', { kind: 'pointer_loop' });
    const [loop] = await udpRaw(server, query('mx.example.test', 'A', { id }));
    expect(() => decode(loop as Buffer)).toThrow(/pointer/);

    server.setFault('mx.example.test', { kind: 'wrong_id', thenAnswer: true });
    const both = await udpRaw(server, query('mx.example.test', 'A', { id }), 250);
    expect(both.map((b) => b.readUInt16BE(0) === id)).toEqual([false, true]);

    server.setFault('mx.example.test', { kind: 'wrong_question' });
    const [spoof] = await udpRaw(server, query('mx.example.test', 'A', { id }));
    expect(decode(spoof as Buffer).questions[0]?.name).toBe('spoofed.invalid');
    server.clearFaults();
  });
});

describe('test DNS server: lifecycle', () => {
  it('binds UDP and TCP to the same port on the host asked for, IPv6 too', async () => {
    const v6 = await startDnsServer({
      host: '::1',
      zones: { 'six.test': { records: { '@': { AAAA: ['2001:db8::6'] } } } },
    });
    try {
      expect(v6.address).toBe(`[::1]:${v6.port}`);
      const socket = dgram.createSocket('udp6');
      const reply = await new Promise<Buffer>((resolve) => {
        socket.on('message', resolve);
        socket.send(query('six.test', 'AAAA'), v6.port, '::1');
      });
      socket.close();
      expect(decode(reply).answers[0]?.data).toBe('2001:db8::6');
    } finally {
      await v6.close();
    }
  });

  it('starts without TCP when asked, so truncation has no way out', async () => {
    const udpOnly = await startDnsServer({ host: '127.0.0.1', tcp: false, zones: { 'x.test': {} } });
    try {
      expect(RCODE(await udp(udpOnly, query('x.test', 'SOA')))).toBe('NOERROR');
      const refused = await new Promise<string>((resolve) => {
        const socket = net.connect(udpOnly.port, udpOnly.host);
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? ''));
        socket.on('connect', () => {
          socket.destroy();
          resolve('connected');
        });
      });
      expect(refused).toBe('ECONNREFUSED');
    } finally {
      await udpOnly.close();
    }
  });
});
