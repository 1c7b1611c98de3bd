import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { analyseSpf } from './analyse.ts';
import { spfFindings } from './findings.ts';

const DOMAIN = 'example.com';

async function analyse(zone: Zone) {
  const resolver = createZoneResolver(zone);
  const result = await analyseSpf(DOMAIN, resolver);
  return { ...result, codes: result.findings.map((finding) => finding.code), queries: resolver.calls.length };
}

const spf = (record: string | string[], extra: Zone = {}): Zone => ({
  [DOMAIN]: { TXT: [record] },
  ...extra,
});

const lookups = (count: number) => Array.from({ length: count }, (_, i) => `a:h${i}.example.com`).join(' ');
const hosts = (count: number): Zone =>
  Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      `h${i}.example.com`,
      { A: [`192.0.2.${i}`], AAAA: [`2001:db8::${i}`] },
    ]),
  );

/** For each finding: a zone that shows it and the same zone fixed. */
const CASES: Record<keyof typeof spfFindings, { bad: Zone; good: Zone }> = {
  missing: { bad: { [DOMAIN]: { TXT: ['google-site-verification=abc'] } }, good: spf('v=spf1 -all') },
  multiple_records: {
    bad: { [DOMAIN]: { TXT: ['v=spf1 -all', 'v=spf1 mx -all'] } },
    good: spf('v=spf1 -all'),
  },
  syntax_error: { bad: spf('v=spf1 ip4:192.0.2.300 -all'), good: spf('v=spf1 ip4:192.0.2.3 -all') },
  too_many_lookups: {
    bad: spf(`v=spf1 ${lookups(11)} -all`, hosts(11)),
    good: spf(`v=spf1 ${lookups(10)} -all`, hosts(10)),
  },
  too_many_void_lookups: {
    bad: spf('v=spf1 a:gone1.example.com mx:gone2.example.com exists:gone3.example.com -all'),
    good: spf('v=spf1 a:gone1.example.com mx:gone2.example.com -all'),
  },
  too_many_mx_or_ptr_names: {
    bad: {
      [DOMAIN]: {
        TXT: ['v=spf1 mx -all'],
        MX: Array.from({ length: 11 }, (_, i) => [i, `h${i}.example.com`] as [number, string]),
      },
    },
    good: {
      [DOMAIN]: {
        TXT: ['v=spf1 mx -all'],
        MX: Array.from({ length: 10 }, (_, i) => [i, `h${i}.example.com`] as [number, string]),
      },
    },
  },
  include_loop: {
    bad: spf('v=spf1 include:_spf.example.com -all', {
      '_spf.example.com': { TXT: ['v=spf1 include:example.com'] },
    }),
    good: spf('v=spf1 include:_spf.example.com -all', {
      '_spf.example.com': { TXT: ['v=spf1 ip4:192.0.2.1'] },
    }),
  },
  include_missing: {
    bad: spf('v=spf1 include:_spf.example.net -all', { '_spf.example.net': { TXT: ['not spf'] } }),
    good: spf('v=spf1 include:_spf.example.net -all', {
      '_spf.example.net': { TXT: ['v=spf1 ip4:192.0.2.1 ~all'] },
    }),
  },
  pass_all: {
    bad: spf('v=spf1 include:_spf.example.net -all', { '_spf.example.net': { TXT: ['v=spf1 +all'] } }),
    good: spf('v=spf1 include:_spf.example.net -all', {
      '_spf.example.net': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'] },
    }),
  },
  neutral_all: { bad: spf('v=spf1 mx ?all'), good: spf('v=spf1 mx -all') },
  softfail_all: {
    bad: spf('v=spf1 redirect=_spf.example.com', {
      '_spf.example.com': { TXT: ['v=spf1 ip4:192.0.2.1 ~all'] },
    }),
    good: spf('v=spf1 redirect=_spf.example.com', {
      '_spf.example.com': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
    }),
  },
  no_all: { bad: spf('v=spf1 ip4:192.0.2.1'), good: spf('v=spf1 ip4:192.0.2.1 -all') },
  ptr_deprecated: {
    bad: spf('v=spf1 ptr:example.com -all'),
    good: spf('v=spf1 a -all', { [DOMAIN]: { TXT: ['v=spf1 a -all'], A: ['192.0.2.1'] } }),
  },
  redirect_with_all: {
    bad: spf('v=spf1 redirect=_spf.example.com -all', { '_spf.example.com': { TXT: ['v=spf1 -all'] } }),
    good: spf('v=spf1 redirect=_spf.example.com', { '_spf.example.com': { TXT: ['v=spf1 -all'] } }),
  },
  exp_problem: {
    bad: spf('v=spf1 -all exp=why.example.com', { 'why.example.com': { TXT: ['one', 'two'] } }),
    good: spf('v=spf1 -all exp=why.example.com', {
      'why.example.com': { TXT: ["%{i} is not one of %{d}'s senders"] },
    }),
  },
  record_too_long: {
    bad: spf(`v=spf1 ${Array.from({ length: 30 }, (_, i) => `ip4:198.51.100.${i}`).join(' ')} -all`),
    good: spf(`v=spf1 ${Array.from({ length: 20 }, (_, i) => `ip4:198.51.100.${i}`).join(' ')} -all`),
  },
  string_too_long: {
    bad: spf([`v=spf1 ${Array.from({ length: 18 }, (_, i) => `ip4:198.51.100.${i}`).join(' ')} -all`]),
    good: spf(`v=spf1 ${Array.from({ length: 18 }, (_, i) => `ip4:198.51.100.${i}`).join(' ')} -all`),
  },
  lookup_unknown: {
    bad: spf('v=spf1 include:slow.example.net -all', { 'slow.example.net': { unknown: 'timeout' } }),
    good: spf('v=spf1 include:slow.example.net -all', { 'slow.example.net': { TXT: ['v=spf1 -all'] } }),
  },
  ip4_too_broad: {
    bad: spf('v=spf1 ip4:10.0.0.0/8 ip6:2001:db8::/24 -all'),
    good: spf('v=spf1 ip4:192.0.2.0/24 -ip4:0.0.0.0/0 ip6:2001:db8::/48 -all'),
  },
  macros_used: {
    bad: spf('v=spf1 exists:%{i}._spf.example.com -all'),
    good: spf('v=spf1 exists:_spf.example.com -all', { '_spf.example.com': { A: ['127.0.0.2'] } }),
  },
};

describe(analyseSpf.name, () => {
  for (const [key, { bad, good }] of Object.entries(CASES)) {
    const code = `spf.${key}`;
    it(`should report ${code}`, async () => {
      const result = await analyse(bad);
      expect(result.codes).toContain(code);
      const finding = result.findings.find((item) => item.code === code);
      expect(finding?.severity).toBe(spfFindings[key as keyof typeof spfFindings].severity);
      expect(finding?.message.length).toBeGreaterThan(10);
    });

    it(`should not report ${code} once fixed`, async () => {
      expect((await analyse(good)).codes).not.toContain(code);
    });
  }

  it('should cover every finding it declares', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(spfFindings).sort());
  });

  it('should report a clean policy as ok with its facts', async () => {
    const result = await analyse(
      spf('v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all', {
        '_spf.example.net': { TXT: ['v=spf1 ip6:2001:db8::/48 -all'] },
      }),
    );
    expect(result.status).toBe('ok');
    expect(result.findings).toEqual([]);
    expect(result.facts).toMatchObject({
      domain: DOMAIN,
      record: 'v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all',
      totalLookups: 1,
      policyAll: { qualifier: '-', domain: DOMAIN },
      truncated: false,
    });
    expect(result.facts.tree.children[0]).toMatchObject({
      domain: '_spf.example.net',
      via: 'include',
      lookupsBefore: 1,
      ownLookups: 0,
    });
  });

  it('should show which node pushes the lookup count over the limit', async () => {
    const zone: Zone = {
      [DOMAIN]: {
        TXT: ['v=spf1 a include:_spf.example.com include:_spf.example.net -all'],
        A: ['192.0.2.1'],
      },
      '_spf.example.com': { TXT: [`v=spf1 ${lookups(4)} ~all`] },
      '_spf.example.net': {
        TXT: ['v=spf1 include:a.example.net include:b.example.net redirect=c.example.net'],
      },
      'a.example.net': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
      'b.example.net': { TXT: ['v=spf1 a:h0.example.com ~all'] },
      'c.example.net': { TXT: ['v=spf1 a:h1.example.com -all'] },
      ...hosts(4),
    };
    const result = await analyse(zone);
    const finding = result.findings.find((item) => item.code === 'spf.too_many_lookups');
    expect(result.facts.totalLookups).toBe(12);
    expect(finding?.evidence).toMatchObject({
      total: 12,
      limit: 10,
      exceededAt: { domain: '_spf.example.net', term: 'redirect=c.example.net', lookupNumber: 11 },
    });
    expect(finding?.evidence.breakdown).toContainEqual({
      domain: '_spf.example.net',
      via: 'include',
      path: [DOMAIN, '_spf.example.net'],
      depth: 1,
      lookupsBefore: 7,
      ownLookups: 3,
      cumulativeLookups: 5,
    });
    expect(result.facts.tree.cumulativeLookups).toBe(12);
  });

  it('should count void lookups per client family and say where the limit is passed', async () => {
    const zone = spf(
      'v=spf1 a:v6only.example.com a:gone.example.com mx:gone.example.com exists:gone.example.com -all',
      {
        'v6only.example.com': { AAAA: ['2001:db8::1'] },
      },
    );
    const result = await analyse(zone);
    expect(result.facts.voidLookups).toEqual({ ipv4: 4, ipv6: 3 });
    const finding = result.findings.find((item) => item.code === 'spf.too_many_void_lookups');
    expect(finding?.evidence.exceededAt).toEqual({
      ipv4: { domain: DOMAIN, term: 'mx:gone.example.com' },
      ipv6: { domain: DOMAIN, term: 'exists:gone.example.com' },
    });
  });

  it('should not follow terms after "all" nor redirect beside "all"', async () => {
    const result = await analyse(spf('v=spf1 -all include:_spf.example.net redirect=x.example.net'));
    expect(result.facts.totalLookups).toBe(0);
    expect(result.queries).toBe(1);
  });

  it('should be unknown, not a verdict, when the record lookup fails', async () => {
    const result = await analyse({ [DOMAIN]: { unknown: 'servfail' } });
    expect(result.status).toBe('unknown');
    expect(result.codes).toEqual(['spf.lookup_unknown']);
  });

  it('should keep proven findings but be unknown when part of the tree did not answer', async () => {
    const result = await analyse(
      spf('v=spf1 ptr include:slow.example.net ?all', { 'slow.example.net': { unknown: 'timeout' } }),
    );
    expect(result.status).toBe('unknown');
    expect(result.codes).toEqual(
      expect.arrayContaining(['spf.lookup_unknown', 'spf.ptr_deprecated', 'spf.neutral_all']),
    );
    expect(result.codes).not.toContain('spf.include_missing');
  });

  it('should report a redirect loop as a loop', async () => {
    const result = await analyse(spf('v=spf1 redirect=example.com'));
    expect(result.findings.find((item) => item.code === 'spf.include_loop')?.evidence).toMatchObject({
      via: 'redirect',
    });
  });

  describe('hostile input', () => {
    it('should end include loops between many names', async () => {
      const zone: Zone = Object.fromEntries(
        Array.from({ length: 5 }, (_, i) => [
          `l${i}.example.com`,
          { TXT: [`v=spf1 include:l${(i + 1) % 5}.example.com -all`] },
        ]),
      );
      const result = await analyseSpf('l0.example.com', createZoneResolver(zone));
      expect(result.findings.map((item) => item.code)).toContain('spf.include_loop');
    });

    it('should count a 10 000-term record and stay within a bounded number of queries', async () => {
      const result = await analyse(spf(`v=spf1 ${lookups(10_000)} -all`));
      expect(result.facts.totalLookups).toBe(10_000);
      expect(result.facts.tree.terms.length).toBeLessThanOrEqual(200);
      // The record text is kept (facts.record and the root node); the term views are not all kept.
      const recordLength = result.facts.record?.length ?? 0;
      expect(JSON.stringify(result).length).toBeLessThan(2 * recordLength + 100_000);
      expect(result.codes).toContain('spf.too_many_lookups');
      expect(result.queries).toBeLessThanOrEqual(1 + 2 * 50);
    });

    it('should bound a chain of 1 000 nested includes', async () => {
      const zone: Zone = Object.fromEntries(
        Array.from({ length: 1000 }, (_, i) => [
          `i${i}.example.com`,
          { TXT: [`v=spf1 include:i${i + 1}.example.com -all`] },
        ]),
      );
      const resolver = createZoneResolver(zone);
      const result = await analyseSpf('i0.example.com', resolver);
      expect(result.facts.truncated).toBe(true);
      expect(result.findings.find((item) => item.code === 'spf.too_many_lookups')?.evidence).toMatchObject({
        atLeast: true,
      });
      expect(resolver.calls.length).toBeLessThanOrEqual(52);
    });

    it('should report a huge TXT record, not crash on it', async () => {
      const huge = `v=spf1 ${Array.from({ length: 50_000 }, (_, i) => `ip4:10.${(i >> 8) & 255}.${i & 255}.1`).join(' ')} -all`;
      const result = await analyse(spf(huge));
      expect(result.codes).toContain('spf.record_too_long');
      expect(result.codes).not.toContain('spf.string_too_long');
    });

    it('should read a record split into 10 000 strings', async () => {
      const strings = ['v=spf1', ...Array.from({ length: 9_999 }, () => ' ip4:192.0.2.1')];
      const result = await analyse({ [DOMAIN]: { TXT: [strings] } });
      expect(result.facts.tree.terms.length + (result.facts.tree.omittedTerms ?? 0)).toBe(9_999);
      expect(result.facts.tree.terms.length).toBeLessThanOrEqual(200);
      expect(result.codes).toContain('spf.no_all');
    });
  });
});
