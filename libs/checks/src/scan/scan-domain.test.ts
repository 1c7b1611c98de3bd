import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import type { FetchResult } from '../bimi/fetch.ts';
import type { PolicyFetchResult } from '../mta-sts/analyse-mta-sts.ts';
import {
  normalizeScanDomain,
  type ScanFetchPolicy,
  type ScanFetchResource,
  type ScanOptions,
  scanDomain,
} from './scan-domain.ts';
import { DKIM_SELECTOR, GOOD_SVG, goodDomainZone, policyText } from './scan-fixtures.test-helper.ts';

const DOMAIN = 'good.example';
const LOGO = `https://brand.${DOMAIN}/logo.svg`;
const baseZone = () =>
  goodDomainZone(DOMAIN, { mxAddress: '192.0.2.10', policyAddress: '192.0.2.20', logoUrl: LOGO }) as Zone;

const policyOk = (patterns = [`mx1.${DOMAIN}`]): PolicyFetchResult => ({
  status: 'ok',
  httpStatus: 200,
  contentType: 'text/plain',
  body: policyText(patterns),
});
const logoOk: FetchResult = { status: 'ok', httpStatus: 200, contentType: 'image/svg+xml', body: GOOD_SVG };

function setup(zone: Zone = baseZone(), overrides: Partial<ScanOptions> = {}) {
  const resolver = createZoneResolver(zone);
  const policyCalls: string[] = [];
  const resourceCalls: string[] = [];
  const fetchPolicy: ScanFetchPolicy = async (url, context) => {
    policyCalls.push(url);
    // The fetcher resolves the policy host through the scan's resolver, as libs/net's does.
    await context.resolver.query(new URL(url).hostname, 'A');
    await context.resolver.query(new URL(url).hostname, 'AAAA');
    return policyOk();
  };
  const fetchResource: ScanFetchResource = async (url) => {
    resourceCalls.push(url);
    return logoOk;
  };
  const options: ScanOptions = {
    resolver,
    fetchPolicy,
    fetchResource,
    dkimSelectors: [DKIM_SELECTOR],
    now: () => new Date('2026-02-03T04:05:06Z'),
    ...overrides,
  };
  return { resolver, options, policyCalls, resourceCalls };
}

const byCheck = (report: Awaited<ReturnType<typeof scanDomain>>) =>
  Object.fromEntries(report.results.map((r) => [r.check, r]));

describe(scanDomain.name, () => {
  it('should run every check on a good domain and score it A+', async () => {
    const { options, policyCalls, resourceCalls } = setup();
    const report = await scanDomain('Good.Example.', options);
    expect(report.domain).toBe(DOMAIN);
    expect(report.startedAt).toBe('2026-02-03T04:05:06.000Z');
    expect(report.checks).toEqual(['mx', 'spf', 'dkim', 'dmarc', 'mta_sts', 'tls_rpt', 'bimi']);
    expect(report.results.map((r) => [r.check, r.status])).toEqual([
      ['mx', 'ok'],
      ['spf', 'ok'],
      ['dkim', 'ok'],
      ['dmarc', 'ok'],
      ['mta_sts', 'ok'],
      ['tls_rpt', 'ok'],
      ['bimi', 'findings'],
    ]);
    expect(byCheck(report).bimi?.findings.map((f) => f.code)).toEqual(['bimi.no_vmc']);
    expect(report.posture).toMatchObject({ score: 100, grade: 'A+', partial: false });
    expect(policyCalls).toEqual([`https://mta-sts.${DOMAIN}/.well-known/mta-sts.txt`]);
    expect(resourceCalls).toEqual([LOGO]);
    expect(report.fetches).toBe(2);
    // MTA-STS judged the coverage of the MX the MX check found.
    expect(byCheck(report).mta_sts?.facts).toMatchObject({
      coverage: [{ host: `mx1.${DOMAIN}`, matchedBy: `mx1.${DOMAIN}` }],
    });
  });

  it('should ask each name and type once per scan, the fetchers included', async () => {
    const { resolver, options } = setup();
    const report = await scanDomain(DOMAIN, options);
    const asked = resolver.calls.map((c) => `${c.type} ${c.name.toLowerCase()}`);
    expect(new Set(asked).size).toBe(asked.length);
    expect(report.dnsQueries).toBe(asked.length);
    // The MX check's MX question also serves SPF's `mx` term; the FCrDNS forward lookup of the
    // PTR name is the MX host's own A question.
    expect(asked.filter((q) => q === `MX ${DOMAIN}`)).toHaveLength(1);
    expect(asked).toContain(`A mta-sts.${DOMAIN}`);
    // Given DKIM selectors do not wait for the `_domainkey` probe (they are asked either way).
    expect(asked.indexOf(`TXT ${DKIM_SELECTOR}._domainkey.${DOMAIN}`)).toBeLessThan(
      asked.indexOf(`TXT _domainkey.${DOMAIN}`),
    );
    expect(asked.sort()).toEqual(
      [
        `MX ${DOMAIN}`,
        `TXT ${DOMAIN}`,
        `A mx1.${DOMAIN}`,
        `AAAA mx1.${DOMAIN}`,
        'PTR 10.2.0.192.in-addr.arpa',
        'TXT _spf.provider.example',
        `TXT _dmarc.${DOMAIN}`,
        'TXT _dmarc.example',
        `TXT _domainkey.${DOMAIN}`,
        `TXT ${DKIM_SELECTOR}._domainkey.${DOMAIN}`,
        `TXT _mta-sts.${DOMAIN}`,
        `A mta-sts.${DOMAIN}`,
        `AAAA mta-sts.${DOMAIN}`,
        `TXT _smtp._tls.${DOMAIN}`,
        `TXT default._bimi.${DOMAIN}`,
      ].sort(),
    );
  });

  it('should guess common DKIM selectors only when none is given, unless told to', async () => {
    const given = setup();
    await scanDomain(DOMAIN, given.options);
    expect(given.resolver.calls.some((c) => c.name === `google._domainkey.${DOMAIN}`)).toBe(false);

    const none = setup(baseZone(), { dkimSelectors: [] });
    await scanDomain(DOMAIN, none.options);
    expect(none.resolver.calls.some((c) => c.name === `google._domainkey.${DOMAIN}`)).toBe(true);

    const both = setup(baseZone(), { probeCommonDkimSelectors: true });
    const report = await scanDomain(DOMAIN, both.options);
    expect(both.resolver.calls.some((c) => c.name === `selector1._domainkey.${DOMAIN}`)).toBe(true);
    expect(byCheck(report).dkim?.status).toBe('ok');
  });

  it('should report only the checks asked for, running their dependencies unreported', async () => {
    const zone = baseZone();
    const { options, policyCalls } = setup(zone, {
      checks: ['mta_sts', 'bimi'],
      fetchPolicy: async (url) => {
        policyCalls.push(url);
        return policyOk(['other.example']);
      },
    });
    const report = await scanDomain(DOMAIN, options);
    expect(report.checks).toEqual(['mta_sts', 'bimi']);
    expect(report.results.map((r) => r.check)).toEqual(['mta_sts', 'bimi']);
    // Coverage still judged from the MX records; BIMI still judged against DMARC p=reject.
    expect(byCheck(report).mta_sts?.findings.map((f) => f.code)).toEqual(['mta_sts.mx_not_covered']);
    expect(byCheck(report).bimi?.facts).toMatchObject({ dmarcEnforced: true });
    expect(report.posture.notRun).toEqual(['mx', 'spf', 'dkim', 'dmarc', 'tls_rpt']);
  });

  it('should not fetch a policy when there is no _mta-sts record', async () => {
    const zone = baseZone();
    delete zone[`_mta-sts.${DOMAIN}`];
    const { options, policyCalls } = setup(zone);
    const report = await scanDomain(DOMAIN, options);
    expect(policyCalls).toEqual([]);
    expect(byCheck(report).mta_sts?.findings.map((f) => f.code)).toEqual(['mta_sts.missing']);
  });

  it('should turn a domain whose DNS does not answer into unknown results and no score', async () => {
    const zone: Zone = {};
    for (const name of Object.keys(baseZone())) zone[name] = { unknown: 'timeout' };
    zone[DOMAIN] = { unknown: 'timeout' };
    const { options, policyCalls } = setup(zone);
    const report = await scanDomain(DOMAIN, options);
    expect(report.results.map((r) => r.status)).toEqual(Array(7).fill('unknown'));
    expect(report.posture).toMatchObject({ score: null, grade: null, partial: true });
    expect(policyCalls).toEqual([]);
  });

  it('should score the broken domain low and name its problems', async () => {
    const zone: Zone = {
      'broken.example': {
        TXT: ['v=spf1 +all', 'v=spf1 -all'],
        MX: [{ preference: 10, exchange: '192.0.2.1' }],
      },
      '_dmarc.broken.example': { TXT: ['v=DMARC1; p=none'] },
    };
    const { options } = setup(zone);
    const report = await scanDomain('broken.example', options);
    const codes = report.results.flatMap((r) => r.findings.map((f) => f.code));
    expect(codes).toEqual(
      expect.arrayContaining([
        'mx.ip_literal',
        'spf.multiple_records',
        'dmarc.policy_none',
        'mta_sts.missing',
        'tls_rpt.missing',
      ]),
    );
    expect(['D', 'F']).toContain(report.posture.grade);
  });

  it('should take a policy fetch that timed out as unknown, a refused certificate as a verdict', async () => {
    const timedOut = setup(baseZone(), {
      fetchPolicy: async () => ({ status: 'error', reason: 'timeout', detail: 'no answer in 10000 ms' }),
    });
    const unknown = byCheck(await scanDomain(DOMAIN, timedOut.options)).mta_sts;
    expect(unknown?.status).toBe('unknown');
    expect(unknown?.findings.map((f) => [f.code, f.evidence.transient])).toEqual([
      ['mta_sts.policy_fetch_failed', true],
    ]);

    const badCert = setup(baseZone(), {
      fetchPolicy: async () => ({
        status: 'error',
        reason: 'tls_error',
        code: 'CERT_HAS_EXPIRED',
        detail: 'expired',
      }),
    });
    const report = await scanDomain(DOMAIN, badCert.options);
    expect(byCheck(report).mta_sts?.status).toBe('findings');
    expect(report.posture.grade).toBe('C');
  });

  it('should end a check that throws as unknown, never rejecting the scan', async () => {
    const { options } = setup(baseZone(), {
      fetchPolicy: async () => {
        throw new Error('fetcher bug');
      },
    });
    const report = await scanDomain(DOMAIN, options);
    expect(byCheck(report).mta_sts).toMatchObject({
      status: 'unknown',
      facts: { failure: 'internal_error', detail: 'fetcher bug' },
      findings: [],
    });
    expect(report.posture.unknownChecks).toEqual(['mta_sts']);
    expect(byCheck(report).spf?.status).toBe('ok');
  });

  it('should cut a scan short at its deadline and mark only the unfinished check unknown', async () => {
    const { options } = setup(baseZone(), {
      deadlineMs: 100,
      fetchPolicy: () => new Promise<PolicyFetchResult>(() => {}),
    });
    const started = Date.now();
    const report = await scanDomain(DOMAIN, options);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(byCheck(report).mta_sts).toMatchObject({ status: 'unknown', facts: { failure: 'deadline' } });
    expect(report.results.filter((r) => r.status === 'unknown')).toHaveLength(1);
  });

  it('should refuse what is not a domain name', async () => {
    const { options } = setup();
    for (const bad of ['', 'com', '192.0.2.1', 'exa mple.com', 'a..b', `${'x'.repeat(64)}.com`]) {
      expect(normalizeScanDomain(bad), bad).toBeNull();
      await expect(scanDomain(bad, options)).rejects.toThrow(RangeError);
    }
    expect(normalizeScanDomain('Bücher.Example.')).toBe('xn--bcher-kva.example');
  });
});
