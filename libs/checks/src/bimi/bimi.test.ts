import { readFileSync } from 'node:fs';
import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { checkDmarc } from '../dmarc/dmarc.ts';
import { CORPUS_DIR, loadCorpusZone } from '../dmarc/zonefile.test-helper.ts';
import { checkBimi } from './bimi.ts';
import type { FetchResource, FetchResult } from './fetch.ts';
import { parseBimiRecord } from './record.ts';

const LOGO = 'https://brand.example.com/logo.svg';
const VMC = 'https://brand.example.com/vmc.pem';
const GOOD_SVG = readFileSync(`${CORPUS_DIR}/bimi/mail-bimi/FM-good.svg`);
const PEM = readFileSync(new URL('./fixtures/self-signed-mark.pem', import.meta.url));

const ok = (body: Uint8Array | string, contentType: string): FetchResult => ({
  status: 'ok',
  body,
  contentType,
  httpStatus: 200,
});
const RESOURCES: Record<string, FetchResult> = {
  [LOGO]: ok(GOOD_SVG, 'image/svg+xml'),
  [VMC]: ok(PEM, 'application/x-pem-file'),
};

function fakeFetch(resources: Record<string, FetchResult>) {
  const calls: string[] = [];
  const fetchResource: FetchResource = async (url) => {
    calls.push(url);
    return resources[url] ?? { status: 'ok', httpStatus: 404, contentType: 'text/html', body: 'not found' };
  };
  return { fetchResource, calls };
}

const DMARC_REJECT = { '_dmarc.example.com': { TXT: ['v=DMARC1; p=reject; rua=mailto:d@example.com'] } };

async function run(zone: Zone, resources = RESOURCES, domain = 'example.com', selector?: string) {
  const resolver = createZoneResolver(zone);
  const dmarc = await checkDmarc(domain, { resolver });
  const fetch = fakeFetch(resources);
  const result = await checkBimi(domain, { resolver, fetchResource: fetch.fetchResource, dmarc, selector });
  return { result, codes: result.findings.map((f) => f.code), fetches: fetch.calls };
}

const withRecord = (record: string | string[], resources = RESOURCES, dmarc: Zone = DMARC_REJECT) =>
  run({ ...dmarc, 'default._bimi.example.com': { TXT: [record] } }, resources);

const FULL = `v=BIMI1; l=${LOGO}; a=${VMC}`;

describe(checkBimi.name, () => {
  it('should accept a full record with an enforced DMARC policy, a valid logo and a PEM certificate', async () => {
    const { result, fetches } = await withRecord(FULL);
    expect(result.status).toBe('ok');
    expect(result.findings).toEqual([]);
    expect(fetches.sort()).toEqual([LOGO, VMC].sort());
    expect(result.facts).toMatchObject({
      name: 'default._bimi.example.com',
      dmarcEnforced: true,
      logoUri: LOGO,
      logo: { httpStatus: 200, title: 'FM-Icon-RGB', problems: [] },
      evidence: {
        certificates: [{ subject: expect.stringContaining('Mailwarden Test Mark') }],
        problems: [],
      },
    });
  });

  it('should refuse a DMARC result of another domain (a caller bug)', async () => {
    const resolver = createZoneResolver(DMARC_REJECT);
    const dmarc = await checkDmarc('example.com', { resolver });
    const { fetchResource } = fakeFetch(RESOURCES);
    await expect(checkBimi('other.example', { resolver, fetchResource, dmarc })).rejects.toThrow(RangeError);
  });

  describe('bimi.missing', () => {
    it('should appear without a record, asking the org domain too', async () => {
      const { result, codes } = await run(DMARC_REJECT, RESOURCES, 'mail.example.com');
      expect(codes).toEqual(['bimi.missing']);
      expect(result.facts.queried).toEqual(['default._bimi.mail.example.com', 'default._bimi.example.com']);
    });
    it('should be absent when the organizational domain has the record', async () => {
      const zone = { ...DMARC_REJECT, 'default._bimi.example.com': { TXT: [FULL] } };
      const { result, codes } = await run(zone, RESOURCES, 'mail.example.com');
      expect(codes).toEqual([]);
      expect(result.facts.name).toBe('default._bimi.example.com');
    });
  });

  describe('bimi.multiple_records', () => {
    it('should appear for two records and fetch nothing', async () => {
      const zone = { ...DMARC_REJECT, 'default._bimi.example.com': { TXT: [FULL, FULL] } };
      const { codes, fetches } = await run(zone);
      expect(codes).toEqual(['bimi.multiple_records']);
      expect(fetches).toEqual([]);
    });
  });

  describe('bimi.syntax_error', () => {
    it.each([
      [`v=BIMI1; a=${VMC}`, 'l= tag is required'],
      [`v=BIMI1; l=${LOGO}; l=${LOGO}; a=${VMC}`, 'more than once'],
      [`v=BIMI1; l=logo.svg; a=${VMC}`, 'not a URI'],
      [`v=BIMI1; l=${LOGO}; a=http://brand.example.com/vmc.pem`, 'a= must be an https'],
    ])('should report %s', async (record, message) => {
      const { result } = await withRecord(record);
      expect(result.findings.find((f) => f.code === 'bimi.syntax_error')?.message).toContain(message);
    });
    it('should report a record that looks like BIMI but is ignored', async () => {
      expect((await withRecord(`v=BIMI2; l=${LOGO}`)).codes).toEqual(['bimi.syntax_error', 'bimi.missing']);
    });
    it('should accept odd case, whitespace and a trailing semicolon', async () => {
      expect((await withRecord(`V = bimi1 ;  L=${LOGO} ; A = ${VMC};`)).codes).toEqual([]);
    });
  });

  describe('declination', () => {
    it('should accept "l=" and "a=" both empty as declining, without fetching or judging DMARC', async () => {
      const { result, codes, fetches } = await withRecord('v=BIMI1; l=; a=;', RESOURCES, {});
      expect(codes).toEqual([]);
      expect(result.facts.declined).toBe(true);
      expect(fetches).toEqual([]);
    });
  });

  describe('bimi.dmarc_not_enforced', () => {
    it.each([
      ['v=DMARC1; p=none', 'p=none'],
      ['v=DMARC1; p=quarantine; pct=50', 'pct=50'],
      ['v=DMARC1; p=reject; t=y', 't=y'],
      ['v=DMARC1; p=reject; sp=none', 'sp=none'],
    ])('should appear for %s', async (dmarc, reason) => {
      const { result } = await withRecord(FULL, RESOURCES, { '_dmarc.example.com': { TXT: [dmarc] } });
      expect(result.findings.find((f) => f.code === 'bimi.dmarc_not_enforced')?.message).toContain(reason);
    });
    it('should appear without DMARC', async () => {
      expect((await withRecord(FULL, RESOURCES, {})).codes).toEqual(['bimi.dmarc_not_enforced']);
    });
    it('should be absent for p=quarantine applied to all mail', async () => {
      const { codes } = await withRecord(FULL, RESOURCES, {
        '_dmarc.example.com': { TXT: ['v=DMARC1; p=quarantine; pct=100'] },
      });
      expect(codes).toEqual([]);
    });
    it('should give status unknown, not a verdict, when the DMARC result is unknown', async () => {
      const { result, codes } = await withRecord(FULL, RESOURCES, {
        '_dmarc.example.com': { unknown: 'timeout' },
      });
      expect(result.status).toBe('unknown');
      expect(codes).toEqual(['bimi.lookup_unknown']);
    });
  });

  describe('bimi.logo_not_https', () => {
    it('should appear for an http: logo, which is not fetched', async () => {
      const { codes, fetches } = await withRecord(`v=BIMI1; l=http://brand.example.com/logo.svg; a=${VMC}`);
      expect(codes).toEqual(['bimi.logo_not_https']);
      expect(fetches).toEqual([VMC]);
    });
  });

  describe('bimi.logo_unreachable', () => {
    it.each([
      ['HTTP 404', { status: 'ok', httpStatus: 404, contentType: 'text/html', body: 'not found' }],
      ['a TLS error', { status: 'error', reason: 'tls_error', code: 'CERT_HAS_EXPIRED' }],
      [
        'a redirect',
        { status: 'error', reason: 'redirect', httpStatus: 301, location: 'https://x.example/' },
      ],
      ['an SSRF refusal', { status: 'error', reason: 'ssrf_refused' }],
      ['a refused connection', { status: 'error', reason: 'connection_refused' }],
    ] satisfies Array<[string, FetchResult]>)('should appear for %s', async (_, failure) => {
      const { result, codes } = await withRecord(FULL, { ...RESOURCES, [LOGO]: failure });
      expect(codes).toEqual(['bimi.logo_unreachable']);
      expect(result.status).toBe('findings');
    });
    it.each([
      ['a timeout', { status: 'error', reason: 'timeout' }],
      ['HTTP 503', { status: 'ok', httpStatus: 503, body: '' }],
      ['a DNS failure', { status: 'error', reason: 'dns_unknown' }],
    ] satisfies Array<[string, FetchResult]>)(
      'should be unknown, not unreachable, after %s',
      async (_, failure) => {
        const { result, codes } = await withRecord(FULL, { ...RESOURCES, [LOGO]: failure });
        expect(codes).toEqual(['bimi.lookup_unknown']);
        expect(result.status).toBe('unknown');
      },
    );
  });

  describe('bimi.logo_invalid_svg', () => {
    it('should appear for a logo outside the profile, with every problem in the evidence', async () => {
      const bad = new TextEncoder().encode(
        GOOD_SVG.toString()
          .replace('baseProfile="tiny-ps"', '')
          .replace(/<title>.*<\/title>/, ''),
      );
      const { result, codes } = await withRecord(FULL, { ...RESOURCES, [LOGO]: ok(bad, 'image/svg+xml') });
      expect(codes).toEqual(['bimi.logo_invalid_svg']);
      expect(result.findings[0]?.evidence.problems).toHaveLength(2);
    });
    it('should appear for a logo too large to fetch', async () => {
      const resources: Record<string, FetchResult> = {
        ...RESOURCES,
        [LOGO]: { status: 'error', reason: 'too_large' },
      };
      expect((await withRecord(FULL, resources)).codes).toEqual(['bimi.logo_invalid_svg']);
    });
  });

  describe('bimi.no_vmc, bimi.vmc_unreachable, bimi.vmc_invalid', () => {
    it('should note a record without evidence (no a=, empty a=, a=self)', async () => {
      for (const record of [`v=BIMI1; l=${LOGO}`, `v=BIMI1; l=${LOGO}; a=`, `v=BIMI1; l=${LOGO}; a=self`]) {
        expect((await withRecord(record)).codes, record).toEqual(['bimi.no_vmc']);
      }
    });
    it('should accept a body given as a string', async () => {
      const resources = { ...RESOURCES, [VMC]: ok(PEM.toString('utf8'), 'application/x-pem-file') };
      expect((await withRecord(FULL, resources)).codes).toEqual([]);
    });
    it('should report an evidence document that cannot be fetched', async () => {
      const { codes } = await withRecord(FULL, { [LOGO]: ok(GOOD_SVG, 'image/svg+xml') });
      expect(codes).toEqual(['bimi.vmc_unreachable']);
    });
    it('should report an evidence document that holds no certificate', async () => {
      const resources = {
        ...RESOURCES,
        [VMC]: ok(new TextEncoder().encode('<html>not found</html>'), 'text/html'),
      };
      expect((await withRecord(FULL, resources)).codes).toEqual(['bimi.vmc_invalid']);
      const damaged = new TextEncoder().encode(
        '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      );
      expect(
        (await withRecord(FULL, { ...RESOURCES, [VMC]: ok(damaged, 'application/x-pem-file') })).codes,
      ).toEqual(['bimi.vmc_invalid']);
    });
  });

  describe('bimi.lookup_unknown', () => {
    it('should make the status unknown with no verdict when the record lookup fails', async () => {
      const { result, codes } = await run({
        ...DMARC_REJECT,
        'default._bimi.example.com': { unknown: 'servfail' },
      });
      expect(result.status).toBe('unknown');
      expect(codes).toEqual(['bimi.lookup_unknown']);
    });
  });
});

describe('BIMI on the Mail::BIMI corpus zone', () => {
  const zone = loadCorpusZone('bimi/mail-bimi/zonefile');
  const logo = 'https://fastmaildmarc.com/FM_BIMI.svg';
  const resources = { [logo]: ok(GOOD_SVG, 'image/svg+xml') };
  const codesFor = async (domain: string, selector?: string) =>
    (await run(zone, resources, domain, selector)).codes;

  it('should find the default record of domain.com (lower-case v=bimi1, no a=)', async () => {
    expect(await codesFor('domain.com')).toEqual(['bimi.no_vmc']);
  });
  it('should report the duplicate records of dnslookupmulti.com', async () => {
    expect(await codesFor('dnslookupmulti.com')).toEqual(['bimi.multiple_records']);
  });
  it('should follow the CNAME of dnslookupcname.com and fall back from a missing selector to default', async () => {
    expect(await codesFor('dnslookupcname.com', 'selector')).toEqual(['bimi.no_vmc']);
    expect(await codesFor('dnslookupfallbackfail.com')).toEqual(['bimi.missing']);
    expect(await codesFor('dnslookupfallbackfail.com', 'selector')).toEqual(['bimi.no_vmc']);
  });
  it('should report no record for dnslookupnorecord.com', async () => {
    expect(await codesFor('dnslookupnorecord.com')).toEqual(['bimi.missing']);
  });
});

describe(parseBimiRecord.name, () => {
  it('should read l= lists and the evidence URI', () => {
    expect(parseBimiRecord(`v=BIMI1; l=${LOGO},https://b.example/x.svg; a=${VMC}`)).toMatchObject({
      logoUris: [LOGO, 'https://b.example/x.svg'],
      evidenceUri: VMC,
      declined: false,
      syntaxErrors: [],
    });
  });
  it('should survive a huge record', () => {
    const record = parseBimiRecord(`v=BIMI1; l=${'x'.repeat(1_000_000)}; ${'a=b;'.repeat(10_000)}`);
    expect(record.syntaxErrors.length).toBeGreaterThan(0);
  });
});
