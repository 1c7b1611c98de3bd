import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { checkDmarc } from './dmarc.ts';

const RUA = 'rua=mailto:dmarc@example.com';

async function run(zone: Zone, domain = 'example.com') {
  const resolver = createZoneResolver(zone);
  const result = await checkDmarc(domain, { resolver });
  return { result, codes: result.findings.map((f) => f.code), calls: resolver.calls };
}

const withRecord = (record: string, extra: Zone = {}) =>
  run({ '_dmarc.example.com': { TXT: [record] }, ...extra });

describe(checkDmarc.name, () => {
  it('should report nothing for a strong record and give the facts', async () => {
    const { result } = await withRecord(`v=DMARC1; p=reject; ${RUA}`);
    expect(result.status).toBe('ok');
    expect(result.findings).toEqual([]);
    expect(result.facts).toMatchObject({
      domain: 'example.com',
      record: `v=DMARC1; p=reject; ${RUA}`,
      recordDomain: 'example.com',
      foundBy: 'rfc9989',
      effectivePolicy: 'reject',
      policySource: 'p',
      subdomainPolicy: 'reject',
      pct: 100,
      organizationalDomainPsl: 'example.com',
      organizationalDomainTreeWalk: 'example.com',
      discovery: { agree: true },
      reportDestinations: [{ tag: 'rua', authorization: 'internal', host: 'example.com' }],
    });
    expect(result.facts.tags).toMatchObject({ v: 'DMARC1', p: 'reject' });
  });

  it('should throw for a name that is not a domain (a caller bug)', async () => {
    await expect(checkDmarc('not a domain', { resolver: createZoneResolver({}) })).rejects.toThrow(
      RangeError,
    );
  });

  describe('dmarc.missing', () => {
    it('should appear without any record', async () => {
      const { result, codes } = await run({});
      expect(codes).toEqual(['dmarc.missing']);
      expect(result.facts.effectivePolicy).toBeUndefined();
    });
    it('should be absent with a record at the organizational domain', async () => {
      const { codes } = await run(
        { '_dmarc.example.com': { TXT: [`v=DMARC1; p=reject; ${RUA}`] } },
        'mail.example.com',
      );
      expect(codes).not.toContain('dmarc.missing');
    });
  });

  describe('dmarc.multiple_records', () => {
    it('should appear for two v=DMARC1 records, instead of missing', async () => {
      const { codes } = await run({
        '_dmarc.example.com': { TXT: ['v=DMARC1; p=reject', 'v=DMARC1; p=none'] },
      });
      expect(codes).toEqual(['dmarc.multiple_records']);
    });
    it('should be absent when the other TXT records are not DMARC', async () => {
      const { codes } = await run({
        '_dmarc.example.com': { TXT: [`v=DMARC1; p=reject; ${RUA}`, 'site-verification=1'] },
      });
      expect(codes).toEqual([]);
    });
  });

  describe('dmarc.syntax_error', () => {
    it('should appear for duplicate tags and for records ignored for their version', async () => {
      expect((await withRecord(`v=DMARC1; p=reject; p=none; ${RUA}`)).codes).toEqual(['dmarc.syntax_error']);
      const ignored = await withRecord('v=dmarc1; p=reject');
      expect(ignored.codes).toEqual(['dmarc.syntax_error', 'dmarc.missing']);
    });
    it('should be absent for a clean record with odd but legal whitespace and case', async () => {
      expect((await withRecord(`V = DMARC1 ;P=Reject;  ${RUA} ;`)).codes).toEqual([]);
    });
  });

  describe('dmarc.invalid_tag', () => {
    it('should name the tag and value', async () => {
      const { result } = await withRecord(`v=DMARC1; p=reject; adkim=x; ${RUA}`);
      expect(result.findings).toEqual([
        expect.objectContaining({
          code: 'dmarc.invalid_tag',
          evidence: expect.objectContaining({ tag: 'adkim', value: 'x' }),
        }),
      ]);
    });
    it('should be absent for valid values', async () => {
      expect((await withRecord(`v=DMARC1; p=reject; adkim=s; aspf=r; fo=1; ${RUA}`)).codes).toEqual([]);
    });
  });

  describe('dmarc.unknown_tag', () => {
    it('should appear for a typo of rua, with no_rua', async () => {
      const { codes } = await withRecord('v=DMARC1; p=reject; rau=mailto:d@example.com');
      expect(codes).toEqual(['dmarc.unknown_tag', 'dmarc.no_rua']);
    });
  });

  describe('dmarc.deprecated_tag', () => {
    it('should appear for pct, ri, rf and a size limit', async () => {
      const { result } = await withRecord('v=DMARC1; p=reject; pct=100; rua=mailto:dmarc@example.com!10m');
      expect(result.findings.map((f) => f.code)).toEqual(['dmarc.deprecated_tag']);
      expect(result.findings[0]?.evidence.count).toBe(2);
    });
  });

  describe('dmarc.record_unusable', () => {
    it('should appear when there is no valid policy and no valid rua', async () => {
      const { result, codes } = await withRecord('v=DMARC1; adkim=s');
      expect(codes).toContain('dmarc.record_unusable');
      expect(codes).not.toContain('dmarc.policy_none');
      expect(result.facts.effectivePolicy).toBeNull();
    });
    it('should be replaced by policy_none when a valid rua saves the record', async () => {
      const { result, codes } = await withRecord(`v=DMARC1; p=block; ${RUA}`);
      expect(codes).toEqual(['dmarc.invalid_tag', 'dmarc.policy_none']);
      expect(result.facts).toMatchObject({ effectivePolicy: 'none', usability: 'treated_as_none' });
    });
  });

  describe('policy strength', () => {
    it.each([
      ['p=none', 'dmarc.policy_none'],
      ['p=quarantine', 'dmarc.policy_quarantine'],
      ['p=reject; pct=50', 'dmarc.pct_partial'],
      ['p=reject; t=y', 'dmarc.testing_mode'],
      ['p=reject; sp=none', 'dmarc.subdomain_policy_weaker'],
      ['p=reject; np=quarantine', 'dmarc.np_weaker'],
      ['p=reject; ruf=mailto:f@example.com', 'dmarc.ruf_present'],
    ])('should report %s as %s', async (tags, code) => {
      expect((await withRecord(`v=DMARC1; ${tags}; ${RUA}`)).codes).toContain(code);
    });

    it.each([
      ['p=reject; pct=100', 'dmarc.pct_partial'],
      ['p=none; pct=50', 'dmarc.pct_partial'],
      ['p=reject; t=n', 'dmarc.testing_mode'],
      ['p=reject; sp=reject', 'dmarc.subdomain_policy_weaker'],
      ['p=quarantine; sp=reject', 'dmarc.subdomain_policy_weaker'],
      ['p=reject; np=reject', 'dmarc.np_weaker'],
      ['p=reject', 'dmarc.policy_quarantine'],
      ['p=reject', 'dmarc.ruf_present'],
    ])('should not report %s as %s', async (tags, code) => {
      expect((await withRecord(`v=DMARC1; ${tags}; ${RUA}`)).codes).not.toContain(code);
    });

    it('should not judge sp on a record that is not at the organizational domain', async () => {
      const zone = {
        '_dmarc.mail.example.com': { TXT: [`v=DMARC1; p=reject; sp=none; ${RUA}`] },
        '_dmarc.example.com': { TXT: [`v=DMARC1; p=reject; ${RUA}`] },
      };
      expect((await run(zone, 'mail.example.com')).codes).toEqual([]);
    });
  });

  describe('dmarc.no_rua', () => {
    it('should appear without rua and be absent with it', async () => {
      expect((await withRecord('v=DMARC1; p=reject')).codes).toEqual(['dmarc.no_rua']);
      expect((await withRecord(`v=DMARC1; p=reject; ${RUA}`)).codes).toEqual([]);
    });
  });

  describe('dmarc.inherited_from_org_domain', () => {
    it('should appear for a subdomain without its own record, with sp applied', async () => {
      const zone = { '_dmarc.example.com': { TXT: [`v=DMARC1; p=reject; sp=quarantine; ${RUA}`] } };
      const { result, codes } = await run(zone, 'mail.example.com');
      expect(codes).toEqual([
        'dmarc.policy_quarantine',
        'dmarc.subdomain_policy_weaker',
        'dmarc.inherited_from_org_domain',
      ]);
      expect(result.facts).toMatchObject({
        recordDomain: 'example.com',
        effectivePolicy: 'quarantine',
        policySource: 'sp',
      });
    });
    it('should be absent when the domain has its own record', async () => {
      expect((await withRecord(`v=DMARC1; p=reject; ${RUA}`)).codes).not.toContain(
        'dmarc.inherited_from_org_domain',
      );
    });
    it('should apply np to a subdomain that does not exist (RFC 9989)', async () => {
      const zone = { '_dmarc.example.com': { TXT: [`v=DMARC1; p=reject; sp=none; np=reject; ${RUA}`] } };
      const { result } = await run(zone, 'ghost.example.com');
      expect(result.facts).toMatchObject({
        domainExists: false,
        effectivePolicy: 'reject',
        policySource: 'np',
      });
      const existing = await run({ ...zone, 'ghost.example.com': { A: ['192.0.2.1'] } }, 'ghost.example.com');
      expect(existing.result.facts).toMatchObject({
        domainExists: true,
        effectivePolicy: 'none',
        policySource: 'sp',
      });
    });
  });

  describe('dmarc.external_destination_unauthorized', () => {
    const record = 'v=DMARC1; p=reject; rua=mailto:d@reports.example.net';
    it('should appear when the destination publishes no authorisation', async () => {
      const { result, calls } = await withRecord(record);
      expect(result.findings.map((f) => f.code)).toEqual(['dmarc.external_destination_unauthorized']);
      expect(calls.map((c) => c.name)).toContain('example.com._report._dmarc.reports.example.net');
    });
    it('should be absent with an authorisation record', async () => {
      const exact = { 'example.com._report._dmarc.reports.example.net': { TXT: ['v=DMARC1;'] } };
      const { result, codes } = await withRecord(record, exact);
      expect(codes).toEqual([]);
      expect(result.facts.reportDestinations[0]).toMatchObject({
        authorization: 'authorized',
        verificationName: 'example.com._report._dmarc.reports.example.net',
      });
    });
    it('should not ask for destinations in the same organizational domain', async () => {
      const { calls } = await withRecord('v=DMARC1; p=reject; rua=mailto:d@mail.example.com');
      expect(calls.some((c) => c.name.includes('_report'))).toBe(false);
    });
    it('should not count a TXT record that is not v=DMARC1 as authorisation', async () => {
      const wrong = { 'example.com._report._dmarc.reports.example.net': { TXT: ['v=spf1 -all'] } };
      expect((await withRecord(record, wrong)).codes).toEqual(['dmarc.external_destination_unauthorized']);
    });
  });

  describe('dmarc.discovery_mismatch', () => {
    it('should appear when psd=n makes RFC 9989 pick an intermediate record', async () => {
      const zone = {
        '_dmarc.b.example.com': { TXT: [`v=DMARC1; p=none; psd=n; ${RUA}`] },
        '_dmarc.example.com': { TXT: [`v=DMARC1; p=reject; ${RUA}`] },
      };
      const { result, codes } = await run(zone, 'a.b.example.com');
      expect(codes).toContain('dmarc.discovery_mismatch');
      expect(result.facts.discovery.rfc7489.policyDomain).toBe('example.com');
      expect(result.facts.discovery.rfc9989.policyDomain).toBe('b.example.com');
      expect(result.facts.recordDomain).toBe('b.example.com');
    });
    it('should appear when several records at the domain end RFC 7489 discovery only', async () => {
      const zone = {
        '_dmarc.mail.example.com': { TXT: ['v=DMARC1; p=reject', 'v=DMARC1; p=none'] },
        '_dmarc.example.com': { TXT: [`v=DMARC1; p=reject; ${RUA}`] },
      };
      const { codes } = await run(zone, 'mail.example.com');
      expect(codes).toContain('dmarc.discovery_mismatch');
      expect(codes).toContain('dmarc.multiple_records');
    });
    it('should be absent when both find the same record', async () => {
      expect((await withRecord(`v=DMARC1; p=reject; ${RUA}`)).result.facts.discovery.agree).toBe(true);
    });
  });

  describe('dmarc.lookup_unknown', () => {
    it('should make the status unknown with no verdict when the policy lookup fails', async () => {
      const { result } = await run({ '_dmarc.example.com': { unknown: 'timeout' } });
      expect(result.status).toBe('unknown');
      expect(result.findings.map((f) => f.code)).toEqual(['dmarc.lookup_unknown']);
    });
    it('should keep proven findings but make the status unknown when an authorisation lookup fails', async () => {
      const zone = { 'example.com._report._dmarc.reports.example.net': { unknown: 'servfail' as const } };
      const { result, codes } = await withRecord('v=DMARC1; p=none; rua=mailto:d@reports.example.net', zone);
      expect(result.status).toBe('unknown');
      expect(codes).toEqual(['dmarc.policy_none', 'dmarc.lookup_unknown']);
    });
    it('should be absent when every lookup is answered', async () => {
      const { result } = await withRecord(`v=DMARC1; p=reject; ${RUA}`);
      expect(result.status).toBe('ok');
    });
  });

  describe('hostile input', () => {
    it('should turn a record of 10 000 strings into findings without crashing', async () => {
      const strings = Array.from({ length: 10_000 }, (_, i) =>
        i === 0 ? 'v=DMARC1; p=reject; ' : `x${i}=1; `,
      );
      const { result } = await run({ '_dmarc.example.com': { TXT: [strings] } });
      expect(result.findings.map((f) => f.code)).toEqual(['dmarc.unknown_tag', 'dmarc.no_rua']);
      expect(JSON.stringify(result).length).toBeLessThan(20_000);
    });
    it('should verify at most 10 external destinations', async () => {
      const rua = Array.from({ length: 500 }, (_, i) => `mailto:d@r${i}.example.net`).join(',');
      const { result, calls } = await withRecord(`v=DMARC1; p=reject; rua=${rua}`);
      expect(calls.filter((c) => c.name.includes('._report._dmarc.'))).toHaveLength(10);
      expect(result.facts.reportDestinations).toHaveLength(50);
      expect(
        result.findings.filter((f) => f.code === 'dmarc.external_destination_unauthorized'),
      ).toHaveLength(10);
    });
  });
});
