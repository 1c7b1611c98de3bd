/**
 * fetchHttps against loopback HTTPS fixtures with certificates from the test CA. Every server sits
 * on its own 127.0.0.x address; 127.0.0.0/8 is allowed explicitly, except where refusal is tested.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { startHttpsServer, type TestHttpsServer } from '@mailwarden/testing/https-server';
import { createTestCa, issueCert, issueSelfSignedCert, type TestCa } from '@mailwarden/testing/tls';
import { createZoneResolver } from '@mailwarden/testing/zone-resolver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowList } from '../ssrf/cidr.ts';
import { type FetchHttpsOptions, fetchHttps } from './fetch-https.ts';

const allowOf = (text: string) => {
  const r = parseAllowList(text);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.allow;
};
const LOOPBACK = allowOf('127.0.0.0/8');
const POLICY = 'version: STSv1\nmode: enforce\nmx: mail.good.test\nmax_age: 604800\n';

const hosts = {
  good: ['good.test', '127.0.0.31'],
  expired: ['expired.test', '127.0.0.32'],
  wrongName: ['wrong-name.test', '127.0.0.33'],
  selfSigned: ['self.test', '127.0.0.34'],
  otherCa: ['other-ca.test', '127.0.0.35'],
} as const;

let ca: TestCa;
let otherCa: TestCa;
const servers: Record<string, TestHttpsServer> = {};
const resolver = createZoneResolver(
  Object.fromEntries(Object.values(hosts).map(([name, ip]) => [name, { A: [ip] }])),
);

const routes = {
  '/policy.txt': { body: POLICY },
  '/html': { body: '<p>hi</p>', headers: { 'content-type': 'text/html' } },
  '/missing-type': { body: 'x', headers: { 'content-type': '' } },
  '/moved': { redirect: '/policy.txt' },
  '/moved-301': { status: 301, redirect: 'https://elsewhere.test/' },
  '/big-declared': { body: 'x', contentLength: 10_000_000 },
  '/big-streamed': { body: 'version: STSv1\n', extraBytes: 200_000 },
  '/endless': { endless: true },
  '/exact': { body: 'a'.repeat(1000) },
  '/slow': { body: POLICY, delayMs: 3_000 },
  '/teapot': { status: 418, body: 'no' },
};

beforeAll(async () => {
  ca = await createTestCa();
  otherCa = await createTestCa({ fresh: true });
  const certs = {
    good: await issueCert(ca, { names: [hosts.good[0], hosts.good[1]] }),
    expired: await issueCert(ca, {
      names: [hosts.expired[0]],
      notBefore: new Date(Date.now() - 400 * 86_400_000),
      notAfter: new Date(Date.now() - 30 * 86_400_000),
    }),
    wrongName: await issueCert(ca, { names: ['somebody-else.test'] }),
    selfSigned: await issueSelfSignedCert({ names: [hosts.selfSigned[0]] }),
    otherCa: await issueCert(otherCa, { names: [hosts.otherCa[0]] }),
  };
  for (const [key, [, ip]] of Object.entries(hosts)) {
    const cert = certs[key as keyof typeof certs];
    servers[key] = await startHttpsServer({ host: ip, cert: cert.chainPem, key: cert.keyPem, routes });
  }
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

const url = (key: keyof typeof hosts, path: string) =>
  `https://${hosts[key][0]}:${servers[key]?.port}${path}`;
const opts = (extra: Partial<FetchHttpsOptions> = {}): FetchHttpsOptions => ({
  resolver,
  allow: LOOPBACK,
  ca: [ca.certPem],
  timeoutMs: 5_000,
  maxBytes: 64 * 1024,
  userAgent: 'mailwarden-test',
  ...extra,
});

describe('fetchHttps', () => {
  it('fetches over TLS to the vetted address, with SNI and Host set to the URL host', async () => {
    const r = await fetchHttps(url('good', '/policy.txt'), opts());
    expect(r).toMatchObject({
      status: 'ok',
      httpStatus: 200,
      contentType: 'text/plain',
      address: '127.0.0.31',
    });
    if (r.status !== 'ok') return;
    expect(r.body.toString('utf8')).toBe(POLICY);
    expect(r.tls).toMatchObject({
      authorized: true,
      certificate: { subjectAltNames: ['DNS:good.test', 'IP Address:127.0.0.31'] },
    });
    expect(servers.good?.requests.at(-1)).toMatchObject({
      path: '/policy.txt',
      servername: 'good.test',
      host: `good.test:${servers.good?.port}`,
      userAgent: 'mailwarden-test',
    });
  });

  it('verifies an IP-literal URL against the IP subjectAltName and sends no SNI', async () => {
    const r = await fetchHttps(`https://127.0.0.31:${servers.good?.port}/policy.txt`, opts());
    expect(r).toMatchObject({ status: 'ok', httpStatus: 200 });
    expect(servers.good?.requests.at(-1)?.servername).toBeUndefined();
  });

  it('reports an expired certificate as tls_error CERT_HAS_EXPIRED, with the certificate seen', async () => {
    const r = await fetchHttps(url('expired', '/policy.txt'), opts());
    expect(r).toMatchObject({ status: 'error', reason: 'tls_error', code: 'CERT_HAS_EXPIRED' });
    expect(r.status === 'error' && r.tls?.certificate?.validTo).toBeTruthy();
    expect(servers.expired?.requests).toHaveLength(0);
  });

  it('reports a name mismatch as ERR_TLS_CERT_ALTNAME_INVALID', async () => {
    const r = await fetchHttps(url('wrongName', '/policy.txt'), opts());
    expect(r).toMatchObject({ status: 'error', reason: 'tls_error', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('rejects a self-signed certificate', async () => {
    const r = await fetchHttps(url('selfSigned', '/policy.txt'), opts());
    expect(r).toMatchObject({ status: 'error', reason: 'tls_error', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(r.status === 'error' && r.tls?.certificate?.selfSigned).toBe(true);
  });

  it('trusts a private CA only when it is passed as an extra CA', async () => {
    const without = await fetchHttps(url('good', '/policy.txt'), opts({ ca: [] }));
    // The fixture sends leaf + CA, so OpenSSL finds an untrusted self-signed root in the chain.
    expect(without).toMatchObject({
      status: 'error',
      reason: 'tls_error',
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const wrongCa = await fetchHttps(url('otherCa', '/policy.txt'), opts());
    expect(wrongCa).toMatchObject({
      status: 'error',
      reason: 'tls_error',
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const rightCa = await fetchHttps(
      url('otherCa', '/policy.txt'),
      opts({ ca: [ca.certPem, otherCa.certPem] }),
    );
    expect(rightCa).toMatchObject({ status: 'ok', httpStatus: 200 });
  });

  it('returns redirects without following them', async () => {
    const before = servers.good?.requests.length ?? 0;
    expect(await fetchHttps(url('good', '/moved'), opts())).toMatchObject({
      status: 'error',
      reason: 'redirect',
      httpStatus: 302,
      location: '/policy.txt',
    });
    expect(await fetchHttps(url('good', '/moved-301'), opts())).toMatchObject({
      reason: 'redirect',
      httpStatus: 301,
      location: 'https://elsewhere.test/',
    });
    expect(servers.good?.requests.slice(before).map((q) => q.path)).toEqual(['/moved', '/moved-301']);
  });

  it('returns other statuses and content types as they are, for the caller to judge', async () => {
    expect(await fetchHttps(url('good', '/teapot'), opts())).toMatchObject({ status: 'ok', httpStatus: 418 });
    expect(await fetchHttps(url('good', '/html'), opts())).toMatchObject({
      status: 'ok',
      contentType: 'text/html',
    });
    expect(await fetchHttps(url('good', '/nope'), opts())).toMatchObject({ status: 'ok', httpStatus: 404 });
  });

  it('caps the body: by Content-Length, while streaming, and for endless bodies', async () => {
    expect(await fetchHttps(url('good', '/big-declared'), opts())).toMatchObject({
      status: 'error',
      reason: 'too_large',
    });
    expect(await fetchHttps(url('good', '/big-streamed'), opts())).toMatchObject({
      status: 'error',
      reason: 'too_large',
    });
    expect(await fetchHttps(url('good', '/endless'), opts())).toMatchObject({
      status: 'error',
      reason: 'too_large',
    });
    const exact = await fetchHttps(url('good', '/exact'), opts({ maxBytes: 1000 }));
    expect(exact.status === 'ok' && exact.body.length).toBe(1000);
    expect(await fetchHttps(url('good', '/exact'), opts({ maxBytes: 999 }))).toMatchObject({
      reason: 'too_large',
    });
  });

  it('stops at the deadline when the server is slow', async () => {
    const started = Date.now();
    const r = await fetchHttps(url('good', '/slow'), opts({ timeoutMs: 300 }));
    expect(r).toMatchObject({ status: 'error', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('refuses loopback without an allow-list, and the server never sees a connection', async () => {
    const server = servers.good as TestHttpsServer;
    const before = server.connections();
    const r = await fetchHttps(url('good', '/policy.txt'), opts({ allow: [] }));
    expect(r).toMatchObject({
      status: 'error',
      reason: 'ssrf_refused',
      refused: [{ address: '127.0.0.31', verdict: 'loopback' }],
    });
    // Control: an allowed fetch arrives as the very next connection.
    expect(await fetchHttps(url('good', '/policy.txt'), opts())).toMatchObject({ status: 'ok' });
    expect(server.connections()).toBe(before + 1);
  });

  it('POSTs a body with its type and length, and reads the answer (an OAuth token request)', async () => {
    const cert = await issueCert(ca, { names: ['token.test', '127.0.0.36'] });
    const seen: { method?: string; type?: string; length?: string; body: string }[] = [];
    const echo = https.createServer({ cert: cert.chainPem, key: cert.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({
          ...(req.method ? { method: req.method } : {}),
          ...(req.headers['content-type'] ? { type: req.headers['content-type'] } : {}),
          ...(req.headers['content-length'] ? { length: req.headers['content-length'] } : {}),
          body,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ got: body }));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.36', resolve));
    try {
      const port = (echo.address() as AddressInfo).port;
      const form = 'grant_type=refresh_token&refresh_token=r%C3%A9';
      const r = await fetchHttps(
        `https://token.test:${port}/token`,
        opts({
          resolver: createZoneResolver({ 'token.test': { A: ['127.0.0.36'] } }),
          method: 'POST',
          body: form,
          contentType: 'application/x-www-form-urlencoded',
          accept: 'application/json',
        }),
      );
      expect(r).toMatchObject({ status: 'ok', httpStatus: 200, contentType: 'application/json' });
      expect(r.status === 'ok' && JSON.parse(r.body.toString('utf8'))).toEqual({ got: form });
      expect(seen).toEqual([
        {
          method: 'POST',
          type: 'application/x-www-form-urlencoded',
          length: String(Buffer.byteLength(form)),
          body: form,
        },
      ]);
      // Without a body it stays a GET with none.
      await fetchHttps(`https://127.0.0.36:${port}/`, opts({ ca: [ca.certPem] }));
      expect(seen.at(-1)).toEqual({ method: 'GET', body: '' });
    } finally {
      echo.closeAllConnections();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });

  it('refuses bad URLs and reports DNS outcomes', async () => {
    expect(await fetchHttps('http://good.test/', opts())).toMatchObject({ reason: 'invalid_url' });
    expect(await fetchHttps('https://user:pw@good.test/', opts())).toMatchObject({ reason: 'invalid_url' });
    expect(await fetchHttps('not a url', opts())).toMatchObject({ reason: 'invalid_url' });
    expect(await fetchHttps('https://absent.test/', opts())).toMatchObject({ reason: 'dns_no_address' });
    const flaky = createZoneResolver({ 'flaky.test': { unknown: 'timeout' } });
    expect(await fetchHttps('https://flaky.test/', opts({ resolver: flaky }))).toMatchObject({
      reason: 'dns_unknown',
    });
    // WHATWG URL turns 0x7f.1 into 127.0.0.1; the classifier then refuses it.
    expect(await fetchHttps('https://0x7f.1/', opts({ allow: [] }))).toMatchObject({
      reason: 'ssrf_refused',
    });
  });
});
