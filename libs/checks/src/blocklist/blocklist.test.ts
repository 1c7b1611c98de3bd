/**
 * Blocklists over an in-memory zone: configuration format, query names (IPv4 reversed octets,
 * IPv6 nibbles), return-code maps, error codes that must stay `unknown`, TXT reasons, listings
 * that appear and go away. test/blocklists.integration.test.ts runs the same over the loopback
 * DNS server and libs/net's client.
 */
import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { findingDefinition } from '../catalogue.ts';
import { type ScanOptions, scanDomain } from '../scan/scan-domain.ts';
import { DKIM_SELECTOR, GOOD_SVG, goodDomainZone, policyText } from '../scan/scan-fixtures.test-helper.ts';
import { blocklistDomainOf, checkBlocklists } from './blocklist.ts';
import {
  DEFAULT_DOMAIN_BLOCKLISTS,
  DEFAULT_IP_BLOCKLISTS,
  formatBlocklist,
  parseDomainBlocklists,
  parseIpBlocklists,
} from './lists.ts';
import { classifyCode, domainQueryName, ipQueryName } from './query.ts';
import { checkDomainBlocklists, gatherBlocklistSubjects } from './subjects.ts';

const lists = (text: string) => {
  const parsed = parseIpBlocklists(text);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.lists;
};

describe('blocklist configuration', () => {
  it('should parse zones with and without code maps, ranges, bit tests and error codes', () => {
    const parsed = parseIpBlocklists(
      'Zen.Spamhaus.org.=127.0.0.2:SBL|127.0.0.4-127.0.0.7:XBL|127.255.255.254:!public resolver, bl.example.net',
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.lists.map(formatBlocklist)).toEqual([
      'zen.spamhaus.org=127.0.0.2:SBL|127.0.0.4-127.0.0.7:XBL|127.255.255.254:!public resolver',
      'bl.example.net',
    ]);
    expect(parsed.lists[0]?.codes[1]?.match).toEqual({ kind: 'range', first: 0x7f000004, last: 0x7f000007 });
    expect(parsed.lists[0]?.codes[2]?.error).toBe(true);
    const uribl = parseDomainBlocklists('multi.uribl.com=&127.0.0.2:black|127.0.0.1:!refused');
    expect(uribl.ok && uribl.lists[0]?.codes[0]?.match).toEqual({
      kind: 'bits',
      prefix: 0x7f000000,
      bits: 2,
    });
  });

  it('should expand default, accept none, and let a later zone override an earlier one', () => {
    expect(lists('default').map((l) => l.zone)).toEqual(DEFAULT_IP_BLOCKLISTS.map((l) => l.zone));
    expect(lists('none')).toEqual([]);
    const overridden = lists('default,zen.spamhaus.org=127.0.0.2:only SBL');
    expect(overridden).toHaveLength(DEFAULT_IP_BLOCKLISTS.length);
    expect(overridden.at(-1)).toMatchObject({ zone: 'zen.spamhaus.org', codes: [{ meaning: 'only SBL' }] });
    const domains = parseDomainBlocklists('default');
    expect(domains.ok && domains.lists.map((l) => l.zone)).toEqual([
      'dbl.spamhaus.org',
      'multi.surbl.org',
      'multi.uribl.com',
    ]);
  });

  it('should ship the documented codes of the default lists, errors marked as such', () => {
    const zen = DEFAULT_IP_BLOCKLISTS.find((l) => l.zone === 'zen.spamhaus.org');
    const dbl = DEFAULT_DOMAIN_BLOCKLISTS.find((l) => l.zone === 'dbl.spamhaus.org');
    const uribl = DEFAULT_DOMAIN_BLOCKLISTS.find((l) => l.zone === 'multi.uribl.com');
    if (!zen || !dbl || !uribl) throw new Error('default set incomplete');
    expect(classifyCode(zen, '127.0.0.2')).toMatchObject({
      kind: 'listed',
      meaning: expect.stringMatching(/^SBL/),
    });
    expect(classifyCode(zen, '127.0.0.4').kind).toBe('listed');
    expect(classifyCode(zen, '127.0.0.11').meaning).toMatch(/^PBL/);
    expect(classifyCode(zen, '127.255.255.254')).toMatchObject({
      kind: 'error',
      meaning: expect.stringMatching(/public/),
    });
    expect(classifyCode(zen, '127.0.0.8').kind).toBe('undocumented');
    expect(classifyCode(dbl, '127.0.1.4').meaning).toMatch(/phishing/);
    expect(classifyCode(dbl, '127.0.1.255').kind).toBe('error');
    // URIBL encodes several lists in one answer; 127.0.0.1 is its refusal.
    expect(classifyCode(uribl, '127.0.0.14').meaning).toBe(
      'URIBL black - spam domain; URIBL grey - grey list (bulk sender with mixed reputation); URIBL red - newly seen in spam',
    );
    expect(classifyCode(uribl, '127.0.0.1').kind).toBe('error');
  });

  it('should report every bad entry at once', () => {
    const parsed = parseIpBlocklists(
      'bad zone!,x.example=127.0.0.2,y.example=10.0.0.2:private|127.0.0.9-127.0.0.3:backwards,z.example=127.255.255.2:listed?,none',
    );
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.errors).toEqual([
      '"none" cannot be combined with lists',
      'not a DNS zone: "bad zone!"',
      'x.example: entry "127.0.0.2" is not <code>:<meaning>',
      'y.example: 10.0.0.2 lies outside 127.0.0.0/8, where no list answers (RFC 5782 §2.1)',
      'y.example: not a code or range: "127.0.0.9-127.0.0.3"',
      'z.example: 127.255.255.2 is in 127.255.255.0/24, which is reserved for error answers',
    ]);
  });
});

describe('blocklist query names', () => {
  it('should reverse IPv4 octets and IPv6 nibbles (RFC 5782 §2.1, §2.4)', () => {
    expect(ipQueryName('192.0.2.99', 'bl.test')).toBe('99.2.0.192.bl.test');
    expect(ipQueryName('2001:db8::1', 'bl.test')).toBe(
      '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test',
    );
    expect(ipQueryName('::ffff:192.0.2.5', 'bl.test')).toBe('5.2.0.192.bl.test');
    expect(ipQueryName('[192.0.2.1]', 'bl.test')).toBe('1.2.0.192.bl.test');
    expect(ipQueryName('mail.example', 'bl.test')).toBeUndefined();
    expect(domainQueryName('Example.COM', 'dbl.test')).toBe('example.com.dbl.test');
  });

  it('should reduce names to their registrable domain, private suffixes included', () => {
    expect(blocklistDomainOf('www.shop.example.co.uk')).toBe('example.co.uk');
    expect(blocklistDomainOf('evil.github.io')).toBe('evil.github.io');
    expect(blocklistDomainOf('192.0.2.1')).toBeUndefined();
    expect(blocklistDomainOf('co.uk')).toBeUndefined();
  });
});

const IP_LISTS = lists(
  'bl.test=127.0.0.2:spam source|127.0.0.3:exploited host|127.0.0.1:!refused,plain.test,dead.test',
);
const DOMAIN_LISTS = (() => {
  const parsed = parseDomainBlocklists(
    'dbl.test=127.0.1.2:spam domain|127.0.1.4:phish domain,multi.test=&127.0.0.2:black|&127.0.0.4:grey',
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.lists;
})();

/** A test DNSBL: 192.0.2.10 listed with a reason, 192.0.2.11 refused, 2001:db8::25 listed, the rest absent. */
function blocklistZone(): Zone {
  return {
    '10.2.0.192.bl.test': { A: ['127.0.0.2'], TXT: ['Listed for spam, see https://bl.test/q?ip=192.0.2.10'] },
    '11.2.0.192.bl.test': { A: ['127.0.0.1'] },
    '12.2.0.192.bl.test': { A: ['127.0.0.2', '127.255.255.254'] },
    '13.2.0.192.bl.test': { A: ['127.0.0.99'] },
    '14.2.0.192.bl.test': { A: ['10.0.0.1'] },
    '15.2.0.192.bl.test': { unknown: 'timeout' },
    [`${ipQueryName('2001:db8::25', 'bl.test')}`]: { A: ['127.0.0.3'] },
    // No map: RFC 5782 defaults.
    '10.2.0.192.plain.test': { A: ['127.0.0.5'] },
    '11.2.0.192.plain.test': { A: ['127.0.0.1'] },
    // A retired list that answers everything, its §5 test entry included.
    '1.0.0.127.dead.test': { A: ['127.0.0.2'] },
    '10.2.0.192.dead.test': { A: ['127.0.0.2'] },
    'spammy.example.dbl.test': { A: ['127.0.1.2'], TXT: ['https://dbl.test/lookup/spammy.example'] },
    'spammy.example.multi.test': { A: ['127.0.0.6'] },
    'refused.example.dbl.test': { A: ['127.255.255.252'] },
  };
}

describe(checkBlocklists.name, () => {
  it('should report a listing with list, code meaning and TXT reason', async () => {
    const resolver = createZoneResolver(blocklistZone());
    const result = await checkBlocklists(resolver, {
      ips: ['192.0.2.10', '192.0.2.20'],
      ipLists: IP_LISTS.slice(0, 1),
      domainLists: [],
      origins: { '192.0.2.10': ['mx mx1.example.com'] },
    });
    expect(result.status).toBe('findings');
    expect(result.findings).toEqual([
      {
        code: 'blocklist.ip_listed',
        severity: 'high',
        subject: '192.0.2.10 on bl.test',
        message:
          'Address 192.0.2.10 is listed on bl.test: 127.0.0.2 (spam source) — Listed for spam, see https://bl.test/q?ip=192.0.2.10.',
        evidence: {
          subject: '192.0.2.10',
          list: 'bl.test',
          query: '10.2.0.192.bl.test',
          codes: [{ answer: '127.0.0.2', meaning: 'spam source' }],
          reason: 'Listed for spam, see https://bl.test/q?ip=192.0.2.10',
          origins: ['mx mx1.example.com'],
        },
      },
    ]);
    expect(result.facts.listed).toEqual({ '192.0.2.10': ['bl.test'] });
    expect(result.facts.undetermined).toEqual({});
    // TXT is asked only for the listing.
    expect(resolver.calls.filter((c) => c.type === 'TXT').map((c) => c.name)).toEqual(['10.2.0.192.bl.test']);
    expect(findingDefinition('blocklist.ip_listed')?.severity).toBe('high');
  });

  it('should query IPv6 subjects by nibbles and read their codes', async () => {
    const result = await checkBlocklists(createZoneResolver(blocklistZone()), {
      ips: ['2001:DB8:0:0::25'],
      ipLists: IP_LISTS.slice(0, 1),
      domainLists: [],
    });
    expect(result.facts.ips).toEqual(['2001:db8::25']);
    expect(result.findings[0]).toMatchObject({
      code: 'blocklist.ip_listed',
      subject: '2001:db8::25 on bl.test',
      evidence: { codes: [{ answer: '127.0.0.3', meaning: 'exploited host' }] },
    });
  });

  it('should keep error codes, foreign answers, undocumented codes and DNS failures unknown, never listed', async () => {
    const result = await checkBlocklists(createZoneResolver(blocklistZone()), {
      ips: ['192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14', '192.0.2.15'],
      ipLists: IP_LISTS.slice(0, 1),
      domainLists: [],
    });
    expect(result.findings.map((f) => f.code)).toEqual(['blocklist.lookup_unknown']);
    expect(result.status).toBe('unknown');
    expect(result.facts.listed).toEqual({});
    expect(Object.keys(result.facts.undetermined)).toHaveLength(5);
    const details = Object.fromEntries(result.facts.lookups.map((l) => [l.subject, l.detail]));
    expect(details).toEqual({
      '192.0.2.11': '127.0.0.1 (refused)',
      '192.0.2.12': '127.255.255.254 (error code of the list (127.255.255.0/24))',
      '192.0.2.13': '127.0.0.99',
      '192.0.2.14': '10.0.0.1 (answer outside 127.0.0.0/8 (not a blocklist answer))',
      '192.0.2.15': 'timeout',
    });
    expect(result.findings[0]).toMatchObject({
      severity: 'info',
      subject: 'bl.test',
      evidence: { list: 'bl.test', count: 5 },
    });
  });

  it('should apply RFC 5782 defaults to a list without a map', async () => {
    const result = await checkBlocklists(createZoneResolver(blocklistZone()), {
      ips: ['192.0.2.10', '192.0.2.11'],
      ipLists: IP_LISTS.slice(1, 2),
      domainLists: [],
    });
    expect(result.facts.listed).toEqual({ '192.0.2.10': ['plain.test'] });
    expect(result.facts.undetermined).toEqual({ '192.0.2.11': ['plain.test'] });
  });

  it('should distrust a list that lists its never-listed test entry (RFC 5782 §5)', async () => {
    const result = await checkBlocklists(createZoneResolver(blocklistZone()), {
      ips: ['192.0.2.10'],
      ipLists: IP_LISTS.slice(2),
      domainLists: [],
    });
    expect(result.facts.brokenLists).toEqual(['dead.test']);
    expect(result.facts.listed).toEqual({});
    expect(result.findings.map((f) => f.code)).toEqual(['blocklist.lookup_unknown']);
  });

  it('should check registrable domains against domain lists, bit-coded answers included', async () => {
    const resolver = createZoneResolver(blocklistZone());
    const result = await checkBlocklists(resolver, {
      domains: ['www.spammy.example', 'clean.example', 'mail.refused.example', '192.0.2.1'],
      ipLists: [],
      domainLists: DOMAIN_LISTS,
    });
    expect(result.facts.domains).toEqual(['spammy.example', 'clean.example', 'refused.example']);
    expect(result.findings.map((f) => [f.code, f.subject])).toEqual([
      ['blocklist.domain_listed', 'spammy.example on dbl.test'],
      ['blocklist.domain_listed', 'spammy.example on multi.test'],
      ['blocklist.lookup_unknown', 'dbl.test'],
    ]);
    expect(result.findings[1]?.evidence.codes).toEqual([{ answer: '127.0.0.6', meaning: 'black; grey' }]);
    expect(result.findings[0]?.evidence.reason).toBe('https://dbl.test/lookup/spammy.example');
    expect(result.facts.listed).toEqual({ 'spammy.example': ['dbl.test', 'multi.test'] });
    // IP literals never go to a domain list (Spamhaus answers 127.0.1.255 to that).
    expect(resolver.calls.some((c) => c.name.startsWith('192.'))).toBe(false);
  });

  it('should drop the finding when the subject is delisted: the resolved finding is the delisting event', async () => {
    const zone = blocklistZone();
    const input = { ips: ['192.0.2.10'], ipLists: IP_LISTS.slice(0, 1), domainLists: [] };
    const before = await checkBlocklists(createZoneResolver(zone), input);
    expect(before.facts.listed).toEqual({ '192.0.2.10': ['bl.test'] });
    delete zone['10.2.0.192.bl.test'];
    const after = await checkBlocklists(createZoneResolver(zone), input);
    expect(after.status).toBe('ok');
    expect(after.findings).toEqual([]);
    expect(after.facts.listed).toEqual({});
    expect(after.facts.lookups[0]).toMatchObject({ state: 'not_listed' });
  });
});

describe(gatherBlocklistSubjects.name, () => {
  const zone: Zone = {
    'example.com': {
      MX: [
        { preference: 10, exchange: 'mx1.example.com' },
        { preference: 20, exchange: 'mx.provider.example.net' },
      ],
      NS: ['ns1.dns.example.org'],
    },
    'mx1.example.com': { A: ['192.0.2.10'], AAAA: ['2001:db8::25'] },
    'mx.provider.example.net': { A: ['192.0.2.30'] },
    'nomx.example': { A: ['192.0.2.40'] },
  };

  it('should take every MX address, sending IPs, the domain, MX hosts and NS hosts', async () => {
    const subjects = await gatherBlocklistSubjects('example.com', createZoneResolver(zone), ['198.51.100.7']);
    expect(subjects.ips).toEqual(['198.51.100.7', '192.0.2.10', '2001:db8::25', '192.0.2.30']);
    expect(subjects.domains).toEqual([
      'example.com',
      'ns1.dns.example.org',
      'mx1.example.com',
      'mx.provider.example.net',
    ]);
    expect(subjects.origins['192.0.2.30']).toEqual(['mx mx.provider.example.net']);
    expect(subjects.incomplete).toBe(false);
  });

  it("should use the domain's own addresses when it has no MX (implicit MX)", async () => {
    const subjects = await gatherBlocklistSubjects('nomx.example', createZoneResolver(zone));
    expect(subjects.ips).toEqual(['192.0.2.40']);
    expect(subjects.origins['192.0.2.40']).toEqual(['implicit mx nomx.example']);
  });

  it('should check a whole domain, and say unknown when the MX lookup failed', async () => {
    const result = await checkDomainBlocklists('example.com', {
      resolver: createZoneResolver({
        ...zone,
        ...blocklistZone(),
        '10.2.0.192.bl.test': { A: ['127.0.0.2'] },
      }),
      ipLists: IP_LISTS.slice(0, 1),
      domainLists: DOMAIN_LISTS,
    });
    expect(result.findings.map((f) => f.subject)).toEqual([
      '192.0.2.10 on bl.test',
      '2001:db8::25 on bl.test',
    ]);
    expect(result.facts.domains).toEqual(['example.com', 'example.org', 'example.net']);
    const failing = await checkDomainBlocklists('example.com', {
      resolver: createZoneResolver({ 'example.com': { unknown: 'servfail' } }),
      ipLists: IP_LISTS.slice(0, 1),
      domainLists: DOMAIN_LISTS,
    });
    expect(failing.status).toBe('unknown');
    expect(failing.facts.subjectsIncomplete).toBe(true);
  });
});

describe('blocklists in scanDomain', () => {
  const zone = (): Zone => ({
    ...(goodDomainZone('good.example', {
      mxAddress: '192.0.2.10',
      policyAddress: '192.0.2.20',
      logoUrl: 'https://brand.good.example/logo.svg',
    }) as Zone),
    ...blocklistZone(),
  });
  const base = (resolver: ReturnType<typeof createZoneResolver>): ScanOptions => ({
    resolver,
    dkimSelectors: [DKIM_SELECTOR],
    fetchPolicy: async () => ({
      status: 'ok',
      httpStatus: 200,
      contentType: 'text/plain',
      body: policyText(['mx1.good.example']),
    }),
    fetchResource: async () => ({
      status: 'ok',
      httpStatus: 200,
      contentType: 'image/svg+xml',
      body: GOOD_SVG,
    }),
  });

  it('should not ask any blocklist in a default scan', async () => {
    const resolver = createZoneResolver(zone());
    const report = await scanDomain('good.example', base(resolver));
    expect(report.checks).not.toContain('blocklist');
    expect(resolver.calls.some((c) => c.name.endsWith('.bl.test') || c.name.endsWith('spamhaus.org'))).toBe(
      false,
    );
  });

  it('should run the blocklist check when lists are given, after the default checks, without touching the score', async () => {
    const plain = await scanDomain('good.example', base(createZoneResolver(zone())));
    const report = await scanDomain('good.example', {
      ...base(createZoneResolver(zone())),
      blocklists: { ipLists: IP_LISTS.slice(0, 1), domainLists: DOMAIN_LISTS, sendingIps: ['2001:db8::25'] },
    });
    expect(report.checks.at(-1)).toBe('blocklist');
    const result = report.results.at(-1);
    // Declared sending IPs first, then the MX addresses.
    expect(result?.findings.map((f) => f.subject)).toEqual([
      '2001:db8::25 on bl.test',
      '192.0.2.10 on bl.test',
    ]);
    expect(report.posture).toEqual(plain.posture);
  });
});
