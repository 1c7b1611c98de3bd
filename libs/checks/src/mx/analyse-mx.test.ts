import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { analyseMx, MAX_MX_HOSTS } from './analyse-mx.ts';

/** A domain with two well-published MX hosts: forward and reverse DNS agree. */
const GOOD: Zone = {
  'good.example': {
    MX: [
      [20, 'mx2.good.example.'],
      [10, 'mx1.good.example.'],
    ],
  },
  'mx1.good.example': { A: ['192.0.2.10'], AAAA: ['2001:db8::10'] },
  'mx2.good.example': { A: ['192.0.2.20'] },
  '10.2.0.192.in-addr.arpa': { PTR: ['mx1.good.example.'] },
  '20.2.0.192.in-addr.arpa': { PTR: ['other.example.', 'MX2.good.example.'] },
  'other.example': { A: ['198.51.100.1'] },
  [`${'0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2'}.ip6.arpa`]: {
    PTR: ['mx1.good.example'],
  },
};

const run = (zone: Zone, domain: string) => analyseMx(domain, createZoneResolver(zone));
const codes = (r: { findings: { code: string }[] }) => r.findings.map((f) => f.code);

describe('analyseMx', () => {
  it('reports a well-published domain with no findings and full facts', async () => {
    const r = await run(GOOD, 'Good.Example.');
    expect(r.status).toBe('ok');
    expect(r.findings).toEqual([]);
    expect(r.facts.mode).toBe('explicit');
    expect(r.facts.hosts.map((h) => [h.host, h.preference])).toEqual([
      ['mx1.good.example', 10],
      ['mx2.good.example', 20],
    ]);
    expect(r.facts.hosts[0]?.addresses).toEqual([
      {
        address: '192.0.2.10',
        family: 4,
        ptr: ['mx1.good.example'],
        fcrdns: true,
        confirmedBy: 'mx1.good.example',
      },
      {
        address: '2001:db8::10',
        family: 6,
        ptr: ['mx1.good.example'],
        fcrdns: true,
        confirmedBy: 'mx1.good.example',
      },
    ]);
    expect(r.facts.hosts[1]?.addresses[0]).toMatchObject({ fcrdns: true, confirmedBy: 'mx2.good.example' });
  });

  it('missing: NXDOMAIN, or no MX and no address', async () => {
    const nx = await run({}, 'absent.example');
    expect(codes(nx)).toEqual(['mx.missing']);
    expect(nx.findings[0]?.evidence).toEqual({ rcode: 'NXDOMAIN' });
    const bare = await run({ 'bare.example': { TXT: ['hello'] } }, 'bare.example');
    expect(codes(bare)).toEqual(['mx.missing']);
    expect(bare.facts.mode).toBe('none');
  });

  it('implicit_mx: no MX, but the domain has an address (RFC 5321 §5.1)', async () => {
    const r = await run({ 'web.example': { A: ['192.0.2.80'] } }, 'web.example');
    expect(codes(r)).toEqual(['mx.implicit_mx']);
    expect(r.facts).toMatchObject({ mode: 'implicit', implicitAddresses: ['192.0.2.80'] });
  });

  it('null_mx: a single "0 ." is information, not a problem', async () => {
    const r = await run({ 'nomail.example': { MX: [[0, '.']] } }, 'nomail.example');
    expect(codes(r)).toEqual(['mx.null_mx']);
    expect(r.findings[0]?.severity).toBe('info');
    expect(r.facts.mode).toBe('null');
    expect(r.facts.hosts).toEqual([]);
  });

  it('null_mx_mixed: null MX beside other records, or with a non-zero preference', async () => {
    const mixed = await run(
      {
        ...GOOD,
        'mixed.example': {
          MX: [
            [0, '.'],
            [10, 'mx1.good.example'],
          ],
        },
      },
      'mixed.example',
    );
    expect(codes(mixed)).toEqual(['mx.null_mx_mixed']);
    expect(mixed.findings[0]?.evidence).toEqual({ records: ['0 .', '10 mx1.good.example'] });
    const pref = await run({ 'pref.example': { MX: [[10, '.']] } }, 'pref.example');
    expect(codes(pref)).toEqual(['mx.null_mx_mixed']);
  });

  it('cname: an MX host that is an alias (RFC 2181 §10.3)', async () => {
    const zone: Zone = {
      ...GOOD,
      'alias.example': { MX: [[10, 'mail.alias.example']] },
      'mail.alias.example': { CNAME: ['mx1.good.example'] },
    };
    const r = await run(zone, 'alias.example');
    expect(codes(r)).toEqual(['mx.cname']);
    expect(r.findings[0]).toMatchObject({
      subject: 'mail.alias.example',
      evidence: { cnameChain: ['mx1.good.example'] },
    });
    // The alias still resolves, so the addresses are known.
    expect(r.facts.hosts[0]?.addresses.map((a) => a.address)).toEqual(['192.0.2.10', '2001:db8::10']);
  });

  it('ip_literal: an address where a host name belongs, not resolved as a name', async () => {
    const resolver = createZoneResolver({
      'lit.example': {
        MX: [
          [10, '192.0.2.1'],
          [20, '[2001:db8::1]'],
        ],
      },
    });
    const r = await analyseMx('lit.example', resolver);
    expect(codes(r)).toEqual(['mx.ip_literal', 'mx.ip_literal']);
    expect(resolver.calls.map((c) => c.name)).toEqual(['lit.example']);
  });

  it('duplicate_host: one host twice is examined once', async () => {
    const resolver = createZoneResolver({
      ...GOOD,
      'dup.example': {
        MX: [
          [10, 'mx1.good.example'],
          [20, 'MX1.good.example.'],
        ],
      },
    });
    const r = await analyseMx('dup.example', resolver);
    expect(codes(r)).toEqual(['mx.duplicate_host']);
    expect(r.findings[0]?.evidence).toEqual({ preferences: [10, 20] });
    expect(r.facts.hosts).toHaveLength(1);
  });

  it('host_unresolvable: an MX host without A or AAAA', async () => {
    const zone: Zone = {
      ...GOOD,
      'half.example': {
        MX: [
          [10, 'mx1.good.example'],
          [20, 'gone.half.example'],
        ],
      },
    };
    const r = await run(zone, 'half.example');
    expect(codes(r)).toEqual(['mx.host_unresolvable']);
    expect(r.findings[0]).toMatchObject({ subject: 'gone.half.example', evidence: { rcode: 'NXDOMAIN' } });
    expect(r.facts.hosts[1]?.resolution).toBe('unresolvable');
  });

  it('no_fcrdns: no PTR, or a PTR that does not lead back to the address', async () => {
    const zone: Zone = {
      'rev.example': { MX: [[10, 'mx.rev.example']] },
      'mx.rev.example': { A: ['192.0.2.50', '192.0.2.51'] },
      '51.2.0.192.in-addr.arpa': { PTR: ['liar.example'] },
      'liar.example': { A: ['192.0.2.99'] },
    };
    const r = await run(zone, 'rev.example');
    expect(codes(r)).toEqual(['mx.no_fcrdns', 'mx.no_fcrdns']);
    expect(r.findings.map((f) => f.subject)).toEqual(['192.0.2.50', '192.0.2.51']);
    expect(r.findings[1]?.evidence).toMatchObject({
      ptr: ['liar.example'],
      reverseName: '51.2.0.192.in-addr.arpa',
    });
    // Turned off, no PTR queries are made and no finding appears.
    const quiet = await analyseMx('rev.example', createZoneResolver(zone), { checkFcrdns: false });
    expect(codes(quiet)).toEqual([]);
  });

  it('lookup_unknown: a failed MX lookup is no verdict at all', async () => {
    const r = await run({ 'flaky.example': { unknown: 'timeout' } }, 'flaky.example');
    expect(r.status).toBe('unknown');
    expect(codes(r)).toEqual(['mx.lookup_unknown']);
    expect(r.facts.mode).toBe('unknown');
  });

  it('lookup_unknown: a host whose lookups fail is not called unresolvable', async () => {
    const zone: Zone = {
      ...GOOD,
      'f.example': {
        MX: [
          [10, 'mx1.good.example'],
          [20, 'mx.f.example'],
        ],
      },
      'mx.f.example': { unknown: 'servfail' },
    };
    const r = await run(zone, 'f.example');
    expect(r.status).toBe('unknown');
    expect(codes(r)).toEqual(['mx.lookup_unknown', 'mx.lookup_unknown']);
    expect(r.facts.hosts[1]?.resolution).toBe('unknown');
  });

  it('a PTR lookup that fails leaves fcrdns unknown instead of inventing a finding', async () => {
    const zone: Zone = {
      'p.example': { MX: [[10, 'mx.p.example']] },
      'mx.p.example': { A: ['192.0.2.60'] },
      '60.2.0.192.in-addr.arpa': { unknown: 'timeout' },
    };
    const r = await run(zone, 'p.example');
    expect(r.status).toBe('unknown');
    expect(codes(r)).toEqual(['mx.lookup_unknown']);
    expect(r.facts.hosts[0]?.addresses[0]?.fcrdns).toBe('unknown');
  });

  it('names the provider or gateway behind the MX hosts', async () => {
    const zone: Zone = {
      'corp.example': {
        MX: [
          [10, 'corp-example.mail.protection.outlook.com'],
          [20, 'mx0a-001.pphosted.com'],
          [30, 'mx.corp.example'],
        ],
      },
    };
    const r = await analyseMx('corp.example', createZoneResolver(zone), { checkFcrdns: false });
    expect(r.facts.hosts.map((h) => h.provider?.id)).toEqual(['microsoft', 'proofpoint', undefined]);
    expect(r.facts.providers.map((p) => p.kind)).toEqual(['mailbox', 'gateway']);
  });

  it('caps a hostile number of MX records', async () => {
    const many = Array.from({ length: 500 }, (_, i): [number, string] => [i, `mx${i}.big.example`]);
    const zone: Zone = { 'big.example': { MX: many } };
    for (let i = 0; i < 500; i++) zone[`mx${i}.big.example`] = { A: ['192.0.2.1'] };
    const resolver = createZoneResolver(zone);
    const r = await analyseMx('big.example', resolver, { checkFcrdns: false });
    expect(r.facts.truncated).toBe(true);
    expect(r.facts.hosts).toHaveLength(MAX_MX_HOSTS);
    expect(resolver.calls).toHaveLength(1 + 2 * MAX_MX_HOSTS);
  });
});
