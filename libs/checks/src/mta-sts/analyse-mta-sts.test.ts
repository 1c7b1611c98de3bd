import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import {
  analyseMtaSts,
  type FetchPolicy,
  MTA_STS_MAX_POLICY_BYTES,
  type PolicyFetchResult,
} from './analyse-mta-sts.ts';

const DOMAIN = 'example.com';
const RECORD: Zone = { '_mta-sts.example.com': { TXT: ['v=STSv1; id=20240101T000000'] } };
const POLICY =
  'version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.mail.example.net\nmax_age: 1209600\n';
const MX = ['mx1.example.com', 'in.mail.example.net'];

const ok = (
  body: string | Uint8Array,
  extra: Partial<Extract<PolicyFetchResult, { status: 'ok' }>> = {},
): PolicyFetchResult => ({
  status: 'ok',
  httpStatus: 200,
  contentType: 'text/plain; charset=utf-8',
  body,
  ...extra,
});

async function check(options: { zone?: Zone; fetch?: PolicyFetchResult; mxHosts?: string[] | null } = {}) {
  const urls: string[] = [];
  const fetchPolicy: FetchPolicy = async (url) => {
    urls.push(url);
    return options.fetch ?? ok(POLICY);
  };
  const result = await analyseMtaSts({
    domain: DOMAIN,
    resolver: createZoneResolver(options.zone ?? RECORD),
    fetchPolicy,
    ...(options.mxHosts === null ? {} : { mxHosts: options.mxHosts ?? MX }),
  });
  return { result, urls, codes: result.findings.map((f) => f.code) };
}

describe('analyseMtaSts', () => {
  it('a correct deployment has no findings and full facts', async () => {
    const { result, urls } = await check();
    expect(result.status).toBe('ok');
    expect(result.findings).toEqual([]);
    expect(urls).toEqual(['https://mta-sts.example.com/.well-known/mta-sts.txt']);
    expect(result.facts).toMatchObject({
      id: '20240101T000000',
      recordValid: true,
      fetch: { status: 'ok', httpStatus: 200 },
      policy: { mode: 'enforce', maxAge: 1209600 },
      coverage: [
        { host: 'mx1.example.com', matchedBy: 'mx1.example.com' },
        { host: 'in.mail.example.net', matchedBy: '*.mail.example.net' },
      ],
    });
  });

  it('missing: no record, and no fetch is made', async () => {
    const { codes, urls, result } = await check({ zone: {} });
    expect(codes).toEqual(['mta_sts.missing']);
    expect(urls).toEqual([]);
    expect(result.findings[0]?.evidence).toEqual({ rcode: 'nxdomain' });
  });

  it('lookup_unknown: a failed TXT lookup is no verdict, and nothing is fetched', async () => {
    const { result, urls } = await check({ zone: { '_mta-sts.example.com': { unknown: 'servfail' } } });
    expect(result.status).toBe('unknown');
    expect(result.findings.map((f) => f.code)).toEqual(['mta_sts.lookup_unknown']);
    expect(urls).toEqual([]);
  });

  it('lookup_unknown: the policy host did not resolve for lack of an answer', async () => {
    const { result } = await check({
      fetch: { status: 'error', reason: 'dns_unknown', detail: 'A timeout' },
    });
    expect(result.status).toBe('unknown');
    expect(result.findings.map((f) => f.code)).toEqual(['mta_sts.lookup_unknown']);
  });

  it('multiple_records: two v=STSv1 records', async () => {
    const zone = { '_mta-sts.example.com': { TXT: ['v=STSv1; id=a', 'v=STSv1; id=b'] } };
    expect((await check({ zone })).codes).toEqual(['mta_sts.multiple_records']);
    // An unrelated TXT next to one good record is discarded (§3.1), not counted.
    const mixed = { '_mta-sts.example.com': { TXT: ['v=STSv1; id=a', 'something else'] } };
    expect((await check({ zone: mixed })).codes).toEqual([]);
  });

  it('txt_syntax_error: wrong order, bad id; the policy is still fetched and judged', async () => {
    const zone = { '_mta-sts.example.com': { TXT: ['id=20180907T090909; v=STSv1;'] } };
    const r = await check({ zone });
    expect(r.codes).toEqual(['mta_sts.txt_syntax_error']);
    expect(r.urls).toHaveLength(1);
    const badId = await check({ zone: { '_mta-sts.example.com': { TXT: ['v=STSv1; id=not-alnum'] } } });
    expect(badId.codes).toEqual(['mta_sts.txt_syntax_error']);
    expect(badId.result.facts.recordValid).toBe(false);
  });

  it('joins the character-strings of one TXT record', async () => {
    const zone = { '_mta-sts.example.com': { TXT: [['v=STSv1; ', 'id=split']] } };
    expect((await check({ zone })).result.facts.id).toBe('split');
  });

  it.each([
    ['tls_error', 'CERT_HAS_EXPIRED', false],
    ['tls_error', 'ERR_TLS_CERT_ALTNAME_INVALID', false],
    ['ssrf_refused', undefined, false],
    ['dns_no_address', undefined, false],
    ['too_large', undefined, false],
    ['timeout', undefined, true],
    ['connection_refused', undefined, true],
  ])('policy_fetch_failed: %s %s', async (reason, code, transient) => {
    const fetch = { status: 'error' as const, reason, ...(code ? { code } : {}) };
    const { codes, result } = await check({ fetch });
    expect(codes).toEqual(['mta_sts.policy_fetch_failed']);
    expect(result.findings[0]?.evidence).toMatchObject({ reason, transient, ...(code ? { code } : {}) });
  });

  it('policy_fetch_failed: HTTP status other than 200, and a body over 64 KiB', async () => {
    const notFound = await check({ fetch: ok(POLICY, { httpStatus: 404 }) });
    expect(notFound.codes).toEqual(['mta_sts.policy_fetch_failed']);
    expect(notFound.result.findings[0]?.evidence).toMatchObject({ reason: 'http_status', httpStatus: 404 });
    const big = await check({ fetch: ok(POLICY + 'x'.repeat(MTA_STS_MAX_POLICY_BYTES)) });
    expect(big.result.findings[0]?.evidence).toMatchObject({ reason: 'too_large' });
  });

  it('policy_redirect: a 3xx is reported with its target', async () => {
    const { codes, result } = await check({
      fetch: { status: 'error', reason: 'redirect', httpStatus: 301, location: 'https://www.example.com/' },
    });
    expect(codes).toEqual(['mta_sts.policy_redirect']);
    expect(result.findings[0]?.evidence).toEqual({ httpStatus: 301, location: 'https://www.example.com/' });
  });

  it('policy_content_type: text/html or none; the policy itself is still judged', async () => {
    expect((await check({ fetch: ok(POLICY, { contentType: 'text/html' }) })).codes).toEqual([
      'mta_sts.policy_content_type',
    ]);
    expect((await check({ fetch: ok(POLICY, { contentType: undefined }) })).codes).toEqual([
      'mta_sts.policy_content_type',
    ]);
    expect((await check({ fetch: ok(POLICY, { contentType: 'TEXT/PLAIN' }) })).codes).toEqual([]);
  });

  it('policy_syntax_error: prose at the well-known path', async () => {
    const { codes, result } = await check({
      fetch: ok(new TextEncoder().encode('This site has no mail.\n')),
    });
    expect(codes).toEqual(['mta_sts.policy_syntax_error']);
    expect(result.facts.policy).toBeUndefined();
  });

  it('policy_duplicate_field', async () => {
    expect((await check({ fetch: ok(`${POLICY}mode: testing\n`) })).codes).toEqual([
      'mta_sts.policy_duplicate_field',
    ]);
  });

  it('mode_testing and mode_none; mode none skips coverage', async () => {
    expect((await check({ fetch: ok(POLICY.replace('enforce', 'testing')) })).codes).toEqual([
      'mta_sts.mode_testing',
    ]);
    const none = await check({ fetch: ok('version: STSv1\nmode: none\nmax_age: 86400\n') });
    expect(none.codes).toEqual(['mta_sts.mode_none']);
    expect(none.result.facts.coverage).toBeUndefined();
  });

  it('mx_not_covered: an MX outside every pattern (wildcards cover one label only)', async () => {
    const { codes, result } = await check({
      mxHosts: ['mx1.example.com', 'a.b.mail.example.net', 'MX1.EXAMPLE.COM.'],
    });
    expect(codes).toEqual(['mta_sts.mx_not_covered']);
    expect(result.findings[0]).toMatchObject({
      subject: 'a.b.mail.example.net',
      evidence: { mode: 'enforce' },
    });
    expect((await check({ mxHosts: null })).result.facts.coverage).toBeUndefined();
  });

  it('max_age_too_short and max_age_too_long', async () => {
    expect((await check({ fetch: ok(POLICY.replace('1209600', '3600')) })).codes).toEqual([
      'mta_sts.max_age_too_short',
    ]);
    expect((await check({ fetch: ok(POLICY.replace('1209600', '86400')) })).codes).toEqual([]);
    expect((await check({ fetch: ok(POLICY.replace('1209600', '31557600')) })).codes).toEqual([]);
    expect((await check({ fetch: ok(POLICY.replace('1209600', '31557601')) })).codes).toEqual([
      'mta_sts.max_age_too_long',
    ]);
  });
});
