/**
 * MTA-STS end to end on loopback: the pure analysis (libs/checks) fed by the real guarded fetcher,
 * against HTTPS fixtures with certificates from the test CA. 127.0.0.0/8 is allowed explicitly;
 * each policy host has its own 127.0.0.x address. The fixtures listen on ephemeral ports, so the
 * fetch function moves the policy URL to the fixture's port — the only test-specific step.
 */

import { analyseMtaSts, type FetchPolicy, MTA_STS_MAX_POLICY_BYTES } from '@mailwarden/checks';
import { fetchHttps, parseAllowList } from '@mailwarden/net';
import { startHttpsServer, type TestHttpsServer } from '@mailwarden/testing/https-server';
import { createTestCa, type IssueOptions, issueCert } from '@mailwarden/testing/tls';
import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const allow = (() => {
  const r = parseAllowList('127.0.0.0/8');
  if (!r.ok) throw new Error('allow-list');
  return r.allow;
})();
const POLICY = 'version: STSv1\nmode: enforce\nmx: mx.{d}\nmax_age: 1209600\n';
const DAY_MS = 86_400_000;

interface Scenario {
  ip: string;
  cert?: Partial<IssueOptions>;
  route: { body?: string; headers?: Record<string, string>; redirect?: string };
}

const scenarios: Record<string, Scenario> = {
  'good.test': { ip: '127.0.0.41', route: {} },
  'expired.test': {
    ip: '127.0.0.42',
    cert: { notBefore: new Date(Date.now() - 90 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) },
    route: {},
  },
  'html.test': { ip: '127.0.0.43', route: { headers: { 'content-type': 'text/html; charset=utf-8' } } },
  'moved.test': { ip: '127.0.0.44', route: { redirect: 'https://www.moved.test/mta-sts.txt' } },
};

const servers = new Map<string, TestHttpsServer>();
const zone: Zone = {};
let caPem = '';

beforeAll(async () => {
  const ca = await createTestCa();
  caPem = ca.certPem;
  for (const [domain, s] of Object.entries(scenarios)) {
    const cert = await issueCert(ca, { names: [`mta-sts.${domain}`], ...s.cert });
    const server = await startHttpsServer({
      host: s.ip,
      cert: cert.chainPem,
      key: cert.keyPem,
      routes: { '/.well-known/mta-sts.txt': { body: POLICY.replace('{d}', domain), ...s.route } },
    });
    servers.set(`mta-sts.${domain}`, server);
    zone[`_mta-sts.${domain}`] = { TXT: ['v=STSv1; id=2024'] };
    zone[`mta-sts.${domain}`] = { A: [s.ip] };
  }
});
afterAll(async () => {
  await Promise.all([...servers.values()].map((s) => s.close()));
});

function analyse(domain: string) {
  const resolver = createZoneResolver(zone);
  const fetchPolicy: FetchPolicy = (url) => {
    const u = new URL(url);
    u.port = String(servers.get(u.hostname)?.port ?? 1);
    return fetchHttps(u.toString(), {
      resolver,
      allow,
      ca: [caPem],
      maxBytes: MTA_STS_MAX_POLICY_BYTES,
      timeoutMs: 5_000,
    });
  };
  return analyseMtaSts({ domain, resolver, fetchPolicy, mxHosts: [`mx.${domain}`] });
}

describe('MTA-STS over the guarded fetcher', () => {
  it('a good policy on a valid certificate: no findings', async () => {
    const r = await analyse('good.test');
    expect(r.findings).toEqual([]);
    expect(r.status).toBe('ok');
    expect(r.facts).toMatchObject({ policy: { mode: 'enforce' }, fetch: { status: 'ok', httpStatus: 200 } });
    expect(r.facts.fetch?.certificateValidTo).toMatch(/^\d{4}-/);
    expect(servers.get('mta-sts.good.test')?.requests.at(-1)?.servername).toBe('mta-sts.good.test');
  });

  it('an expired certificate: policy_fetch_failed with CERT_HAS_EXPIRED', async () => {
    const r = await analyse('expired.test');
    expect(r.findings.map((f) => f.code)).toEqual(['mta_sts.policy_fetch_failed']);
    expect(r.findings[0]?.evidence).toMatchObject({
      reason: 'tls_error',
      code: 'CERT_HAS_EXPIRED',
      transient: false,
    });
    expect(servers.get('mta-sts.expired.test')?.requests).toHaveLength(0);
  });

  it('a wrong content type: policy_content_type', async () => {
    const r = await analyse('html.test');
    expect(r.findings.map((f) => f.code)).toEqual(['mta_sts.policy_content_type']);
    expect(r.findings[0]?.evidence).toEqual({ contentType: 'text/html; charset=utf-8' });
  });

  it('a redirect: policy_redirect, and the target is never fetched', async () => {
    const r = await analyse('moved.test');
    expect(r.findings.map((f) => f.code)).toEqual(['mta_sts.policy_redirect']);
    expect(r.findings[0]?.evidence).toEqual({
      httpStatus: 302,
      location: 'https://www.moved.test/mta-sts.txt',
    });
    expect(servers.get('mta-sts.moved.test')?.requests).toHaveLength(1);
  });

  it('without the allow-list the policy host is refused and nothing is dialled', async () => {
    const server = servers.get('mta-sts.good.test') as TestHttpsServer;
    const before = server.connections();
    const resolver = createZoneResolver(zone);
    const r = await analyseMtaSts({
      domain: 'good.test',
      resolver,
      fetchPolicy: (url) => fetchHttps(url, { resolver, allow: [], ca: [caPem], timeoutMs: 5_000 }),
    });
    expect(r.findings[0]?.evidence).toMatchObject({ reason: 'ssrf_refused' });
    expect(server.connections()).toBe(before);
  });
});
