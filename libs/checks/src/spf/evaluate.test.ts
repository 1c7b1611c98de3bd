import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { evaluate, type SpfEvaluationInput } from './evaluate.ts';

const from = (ip: string, domain = 'example.com'): SpfEvaluationInput => ({
  ip,
  mailFrom: `user@${domain}`,
  helo: 'mail.example.org',
});

async function run(zone: Zone, input: SpfEvaluationInput) {
  const resolver = createZoneResolver(zone);
  const outcome = await evaluate(input, resolver);
  return { ...outcome, queries: resolver.calls.length };
}

describe(evaluate.name, () => {
  it('should return the qualifier of the first matching mechanism and name it', async () => {
    const zone: Zone = { 'example.com': { TXT: ['v=spf1 ip4:192.0.2.0/24 ~all'] } };
    expect(await run(zone, from('192.0.2.7'))).toMatchObject({
      result: 'pass',
      mechanism: 'ip4:192.0.2.0/24',
    });
    expect(await run(zone, from('198.51.100.7'))).toMatchObject({ result: 'softfail', mechanism: '~all' });
  });

  it('should count DNS-querying terms across includes and report them', async () => {
    const zone: Zone = {
      'example.com': { TXT: ['v=spf1 a include:_spf.example.com -all'], A: ['192.0.2.1'] },
      '_spf.example.com': { TXT: ['v=spf1 mx ip4:198.51.100.0/24 -all'], MX: [[10, 'mx.example.com']] },
      'mx.example.com': { A: ['192.0.2.25'] },
    };
    expect(await run(zone, from('198.51.100.9'))).toMatchObject({
      result: 'pass',
      mechanism: 'include:_spf.example.com',
      lookups: 3,
      voidLookups: 0,
    });
  });

  it('should give permerror at the eleventh DNS-querying term (RFC 7208 §4.6.4)', async () => {
    const zone: Zone = {
      'example.com': { TXT: [`v=spf1 ${'a '.repeat(10)}ip4:192.0.2.1 a -all`], A: ['203.0.113.1'] },
    };
    expect(await run(zone, from('192.0.2.1'))).toMatchObject({ result: 'pass', lookups: 10 });
    expect(await run(zone, from('192.0.2.2'))).toMatchObject({ result: 'permerror', lookups: 11 });
  });

  it('should give permerror at the third void lookup, and not count exp lookups', async () => {
    const zone = (names: number): Zone => ({
      'example.com': {
        TXT: [
          `v=spf1 ${Array.from({ length: names }, (_, i) => `a:gone${i}.example.com`).join(' ')} exp=nx.example.com -all`,
        ],
      },
    });
    expect(await run(zone(2), from('192.0.2.1'))).toMatchObject({ result: 'fail', voidLookups: 2 });
    expect(await run(zone(3), from('192.0.2.1'))).toMatchObject({ result: 'permerror', voidLookups: 3 });
  });

  it('should never turn a DNS failure into fail: unknown is temperror', async () => {
    const cases: Array<[string, Zone]> = [
      ['TXT', { 'example.com': { unknown: 'timeout' } }],
      [
        'a',
        {
          'example.com': { TXT: ['v=spf1 a:slow.example.net -all'] },
          'slow.example.net': { unknown: 'servfail' },
        },
      ],
      [
        'mx',
        {
          'example.com': { TXT: ['v=spf1 mx -all'], MX: [[1, 'mx.example.net']] },
          'mx.example.net': { unknown: 'timeout' },
        },
      ],
      [
        'exists',
        {
          'example.com': { TXT: ['v=spf1 exists:slow.example.net -all'] },
          'slow.example.net': { unknown: 'refused' },
        },
      ],
      [
        'include',
        {
          'example.com': { TXT: ['v=spf1 include:slow.example.net -all'] },
          'slow.example.net': { unknown: 'timeout' },
        },
      ],
      [
        'redirect',
        {
          'example.com': { TXT: ['v=spf1 redirect=slow.example.net'] },
          'slow.example.net': { unknown: 'timeout' },
        },
      ],
    ];
    for (const [label, zone] of cases) {
      expect((await run(zone, from('192.0.2.1'))).result, label).toBe('temperror');
    }
  });

  it('should treat a DNS failure on the ptr lookup as no match (RFC 7208 §5.5)', async () => {
    const zone: Zone = {
      'example.com': { TXT: ['v=spf1 ptr ?all'] },
      '1.2.0.192.in-addr.arpa': { unknown: 'timeout' },
    };
    expect(await run(zone, from('192.0.2.1'))).toMatchObject({ result: 'neutral', mechanism: '?all' });
  });

  it('should treat an IPv4-mapped client as IPv4 (RFC 7208 §5)', async () => {
    const zone: Zone = { 'example.com': { TXT: ['v=spf1 ip6:::/0 ip4:192.0.2.1 -all'] } };
    expect(await run(zone, from('::ffff:192.0.2.1'))).toMatchObject({
      result: 'pass',
      mechanism: 'ip4:192.0.2.1',
    });
    expect(await run(zone, from('2001:db8::1'))).toMatchObject({ result: 'pass', mechanism: 'ip6:::/0' });
  });

  it('should look at no more than 10 MX names, and only when it has to (RFC 7208 §4.6.4)', async () => {
    const hosts = Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [`mx${i}.example.com`, { A: [`192.0.2.${i}`] }]),
    );
    const zone: Zone = {
      ...hosts,
      'example.com': {
        TXT: ['v=spf1 mx -all'],
        MX: Array.from({ length: 11 }, (_, i) => [i, `mx${i}.example.com`] as [number, string]),
      },
    };
    expect((await run(zone, from('192.0.2.3'))).result).toBe('pass');
    expect((await run(zone, from('198.51.100.1'))).result).toBe('permerror');
  });

  it('should use only the first 10 PTR names and validate them (RFC 7208 §5.5)', async () => {
    const names = Array.from({ length: 11 }, (_, i) => `host${i}.example.com`);
    const zone: Zone = {
      'example.com': { TXT: ['v=spf1 ptr -all'] },
      '1.2.0.192.in-addr.arpa': { PTR: names },
      'host10.example.com': { A: ['192.0.2.1'] },
      'host3.example.com': { A: ['192.0.2.99'] },
    };
    expect((await run(zone, from('192.0.2.1'))).result).toBe('fail');
  });

  it('should expand %{p} to a validated name, preferring the domain, or "unknown"', async () => {
    const zone: Zone = {
      'example.com': { TXT: ['v=spf1 -all exp=why.example.com'] },
      'why.example.com': { TXT: ['%{p} is not allowed'] },
      '1.2.0.192.in-addr.arpa': { PTR: ['other.example.net', 'mail.example.com'] },
      'other.example.net': { A: ['192.0.2.1'] },
      'mail.example.com': { A: ['192.0.2.1'] },
    };
    expect((await run(zone, from('192.0.2.1'))).explanation).toBe('mail.example.com is not allowed');
    expect((await run(zone, from('192.0.2.2'))).explanation).toBe('unknown is not allowed');
  });

  it('should expand the explanation with the domain of the record that failed', async () => {
    const zone: Zone = {
      'example.com': { TXT: ['v=spf1 redirect=_spf.example.net'] },
      '_spf.example.net': { TXT: ['v=spf1 -all exp=why.%{d}'] },
      'why._spf.example.net': { TXT: [['%{i} may not send for %{o} ', 'via %{d} (%{t})']] },
    };
    const outcome = await evaluate(
      { ...from('192.0.2.1'), now: new Date('2026-01-01T00:00:00Z') },
      createZoneResolver(zone),
    );
    expect(outcome.explanation).toBe(
      '192.0.2.1 may not send for example.com via _spf.example.net (1767225600)',
    );
  });

  it('should check HELO with postmaster@helo when MAIL FROM is empty', async () => {
    const zone: Zone = {
      'mail.example.org': { TXT: ['v=spf1 -all exp=why.example.org'] },
      'why.example.org': { TXT: ['%{s}'] },
    };
    expect(await run(zone, { ip: '192.0.2.1', mailFrom: '', helo: 'mail.example.org' })).toMatchObject({
      result: 'fail',
      domain: 'mail.example.org',
      explanation: 'postmaster@mail.example.org',
    });
  });

  it('should return none for a malformed or single-label domain without asking DNS (RFC 7208 §4.3)', async () => {
    for (const domain of ['localhost', `${'a'.repeat(64)}.example.com`, 'a..example.com', '[192.0.2.1]']) {
      expect(await run({}, from('192.0.2.1', domain)), domain).toMatchObject({ result: 'none', queries: 0 });
    }
  });

  it('should refuse an input that is not an IP address', async () => {
    await expect(evaluate(from('not-an-ip'), createZoneResolver({}))).rejects.toThrow(TypeError);
  });

  describe('hostile input', () => {
    it('should end an include loop in permerror with few queries', async () => {
      const zone: Zone = {
        'example.com': { TXT: ['v=spf1 include:a.example.net -all'] },
        'a.example.net': { TXT: ['v=spf1 include:b.example.net'] },
        'b.example.net': { TXT: ['v=spf1 include:example.com'] },
      };
      const outcome = await run(zone, from('192.0.2.1'));
      expect(outcome).toMatchObject({ result: 'permerror' });
      expect(outcome.problem).toContain('loop');
      expect(outcome.queries).toBeLessThanOrEqual(3);
    });

    it('should end a redirect to itself in permerror', async () => {
      const zone: Zone = { 'example.com': { TXT: ['v=spf1 redirect=EXAMPLE.com.'] } };
      expect((await run(zone, from('192.0.2.1'))).result).toBe('permerror');
    });

    it('should stop a 10 000-term record at the lookup limit', async () => {
      const zone: Zone = {
        'example.com': {
          TXT: [`v=spf1 ${Array.from({ length: 10_000 }, (_, i) => `a:h${i}.example.com`).join(' ')} -all`],
        },
        ...Object.fromEntries(
          Array.from({ length: 20 }, (_, i) => [`h${i}.example.com`, { A: ['203.0.113.1'] }]),
        ),
      };
      const outcome = await run(zone, from('192.0.2.1'));
      expect(outcome).toMatchObject({ result: 'permerror', lookups: 11 });
      expect(outcome.queries).toBeLessThanOrEqual(11);
    });

    it('should bound a chain of 1 000 nested includes', async () => {
      const zone: Zone = Object.fromEntries(
        Array.from({ length: 1000 }, (_, i) => [
          `i${i}.example.com`,
          { TXT: [`v=spf1 include:i${i + 1}.example.com -all`] },
        ]),
      );
      const outcome = await run(zone, from('192.0.2.1', 'i0.example.com'));
      expect(outcome.result).toBe('permerror');
      expect(outcome.queries).toBeLessThanOrEqual(12);
    });

    it('should evaluate a huge TXT record without hanging', async () => {
      const terms = Array.from({ length: 50_000 }, (_, i) => `ip4:10.${(i >> 8) & 255}.${i & 255}.1`).join(
        ' ',
      );
      const zone: Zone = { 'example.com': { TXT: [`v=spf1 ${terms} -all`] } };
      expect((await run(zone, from('192.0.2.1'))).result).toBe('fail');
    });

    it('should treat a CNAME loop on an address lookup as temperror, not fail', async () => {
      const zone: Zone = {
        'example.com': { TXT: ['v=spf1 a:loop.example.com -all'] },
        'loop.example.com': { CNAME: ['loop.example.com'] },
      };
      expect((await run(zone, from('192.0.2.1'))).result).toBe('temperror');
    });
  });
});
