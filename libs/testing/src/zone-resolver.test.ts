/** Tests of the in-memory zone resolver the check tests rely on (libs/testing/src/zone-resolver.ts). */
import { describe, expect, it } from 'vitest';
import { createZoneResolver } from './zone-resolver.ts';

describe(createZoneResolver.name, () => {
  const resolver = () =>
    createZoneResolver({
      'Example.COM.': {
        A: ['192.0.2.1'],
        MX: [[10, 'mx.example.com.'], { preference: 20, exchange: 'mx2.example.com' }],
      },
      'deep.sub.example.com': { TXT: ['v=spf1 -all', ['v=spf1 ', 'mx']] },
      'long.example.com': { TXT: ['x'.repeat(300)], AAAA: ['2001:db8::1'] },
      'alias.example.com': { CNAME: ['example.com.'] },
      'loop1.example.com': { CNAME: ['loop2.example.com'] },
      'loop2.example.com': { CNAME: ['loop1.example.com'] },
      'slow.example.com': { TXT: ['v=spf1 -all'], unknown: 'timeout' },
      'broken.example.com': { A: ['192.0.2.9'], unknown: { reason: 'servfail', types: ['A'] } },
      'empty.example.com': {},
    });

  it('should answer case-insensitively, without trailing dots in names', async () => {
    const answer = await resolver().query('EXAMPLE.com', 'MX');
    expect(answer).toMatchObject({
      status: 'answer',
      records: [
        { preference: 10, exchange: 'mx.example.com' },
        { preference: 20, exchange: 'mx2.example.com' },
      ],
    });
  });

  it('should keep NXDOMAIN, NODATA and empty non-terminals apart (RFC 2308, RFC 8020)', async () => {
    const zone = resolver();
    expect((await zone.query('nowhere.example.com', 'A')).status).toBe('nxdomain');
    expect((await zone.query('example.com', 'TXT')).status).toBe('nodata');
    expect((await zone.query('empty.example.com', 'A')).status).toBe('nodata');
    expect((await zone.query('sub.example.com', 'A')).status).toBe('nodata');
  });

  it('should split a long TXT string into 255-octet strings and keep given strings as they are', async () => {
    const long = await resolver().query('long.example.com', 'TXT');
    expect(long.status === 'answer' && long.records[0]?.map((s) => s.length)).toEqual([255, 45]);
    const deep = await resolver().query('deep.sub.example.com', 'TXT');
    expect(deep.status === 'answer' && deep.records).toEqual([['v=spf1 -all'], ['v=spf1 ', 'mx']]);
  });

  it('should follow CNAMEs and end loops in unknown', async () => {
    const zone = resolver();
    expect(await zone.query('alias.example.com', 'A')).toMatchObject({
      status: 'answer',
      records: ['192.0.2.1'],
      cnameChain: ['example.com'],
    });
    expect(await zone.query('alias.example.com', 'CNAME')).toMatchObject({
      status: 'answer',
      records: ['example.com'],
    });
    expect(await zone.query('loop1.example.com', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'cname_loop',
    });
  });

  it('should fail the marked names: every type without records, or the listed types', async () => {
    const zone = resolver();
    expect((await zone.query('slow.example.com', 'TXT')).status).toBe('answer');
    expect(await zone.query('slow.example.com', 'A')).toMatchObject({ status: 'unknown', reason: 'timeout' });
    expect(await zone.query('broken.example.com', 'A')).toMatchObject({
      status: 'unknown',
      reason: 'servfail',
    });
    expect((await zone.query('broken.example.com', 'AAAA')).status).toBe('nodata');
  });

  it('should log every query in order', async () => {
    const zone = resolver();
    await zone.query('a.example.com', 'A');
    await zone.query('example.com', 'TXT');
    expect(zone.calls).toEqual([
      { name: 'a.example.com', type: 'A' },
      { name: 'example.com', type: 'TXT' },
    ]);
  });
});
