/**
 * `analyseMxProbe` on recorded probe results: the status rules (untestable is never hidden and
 * never a regression by itself), the judgement when per-version probes were switched off, DANE
 * without TLS, DNS that does not answer, and banner software detection. Certificates are real
 * (test CA); live servers are in test/mx-probe.e2e.test.ts.
 */
import { X509Certificate } from 'node:crypto';
import { createTestCa, issueCert } from '@mailwarden/testing/tls';
import { createZoneResolver } from '@mailwarden/testing/zone-resolver';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyseMxProbe, softwareInBanner } from './analyse-mx-probe.ts';
import type { ProbedAddress, ProbeTls } from './probe-input.ts';

const DAY_MS = 86_400_000;
let tls: ProbeTls;

function tested(address: string, extra: Partial<ProbedAddress> = {}): ProbedAddress {
  return {
    address,
    family: 4,
    port: 25,
    outcome: 'tested',
    banner: { code: 220, lines: ['mx.example.test ESMTP'] },
    ehlo: { command: 'EHLO', reply: { code: 250, lines: ['mx.example.test'] }, keywords: { STARTTLS: [] } },
    starttls: { offered: true, outcome: 'ok' },
    tls,
    ...extra,
  };
}

beforeAll(async () => {
  const ca = await createTestCa();
  const cert = await issueCert(ca, {
    names: ['mx.example.test'],
    notAfter: new Date(Date.now() + 90 * DAY_MS),
  });
  tls = {
    protocol: 'TLSv1.3',
    cipher: { name: 'TLS_AES_128_GCM_SHA256' },
    authorized: true,
    servername: 'mx.example.test',
    chainDer: [new Uint8Array(new X509Certificate(cert.certPem).raw)],
  };
});

describe(analyseMxProbe.name, () => {
  it('should be untestable when one address could not be tested, keeping the other address findings', async () => {
    const r = await analyseMxProbe(
      {
        host: 'mx.example.test',
        port: 25,
        addresses: [
          tested('192.0.2.1', { starttls: { offered: false, outcome: 'not_offered' }, tls: undefined }),
          {
            address: '2001:db8::1',
            family: 6,
            port: 25,
            outcome: 'untestable',
            untestable: { reason: 'service_unavailable', stage: 'banner', detail: '421 busy' },
          },
        ],
        services: [],
      },
      { now: new Date() },
    );
    expect(r.status).toBe('untestable');
    expect(r.findings.map((f) => [f.code, f.subject])).toEqual([
      ['tls.no_starttls', 'mx.example.test [192.0.2.1]'],
      ['smtp.probe_untestable', 'mx.example.test [2001:db8::1]'],
    ]);
    expect(r.facts.addresses[1]?.untestable?.reason).toBe('service_unavailable');
  });

  it('should judge protocol versions from the negotiated one when version probes were off', async () => {
    const old = { ...tls, protocol: 'TLSv1', cipher: { name: 'ECDHE-RSA-AES128-SHA' } };
    const r = await analyseMxProbe(
      { host: 'mx.example.test', port: 25, addresses: [tested('192.0.2.1', { tls: old })], services: [] },
      { now: new Date() },
    );
    expect(r.findings.map((f) => f.code).sort()).toEqual(['tls.legacy_protocol', 'tls.no_modern_protocol']);
    const modern = await analyseMxProbe(
      { host: 'mx.example.test', port: 25, addresses: [tested('192.0.2.1')], services: [] },
      { now: new Date() },
    );
    expect(modern.status).toBe('ok');
  });

  it('should report secure TLSA records on an MX without STARTTLS, without calling the matcher', async () => {
    let calls = 0;
    const r = await analyseMxProbe(
      {
        host: 'mx.example.test',
        port: 25,
        addresses: [
          tested('192.0.2.1', { starttls: { offered: false, outcome: 'not_offered' }, tls: undefined }),
        ],
        services: [],
      },
      {
        now: new Date(),
        dane: {
          tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: '00'.repeat(32) }],
          secure: true,
          match: () => {
            calls++;
            return true;
          },
        },
      },
    );
    expect(r.findings.map((f) => f.code).sort()).toEqual(['tls.dane_mismatch', 'tls.no_starttls']);
    expect(r.findings.find((f) => f.code === 'tls.dane_mismatch')?.evidence.reason).toBe('no_tls');
    expect(calls).toBe(0);
  });

  it('should not judge the banner host when reverse DNS does not answer', async () => {
    const resolver = createZoneResolver({ '1.2.0.192.in-addr.arpa': { unknown: 'timeout' } });
    const r = await analyseMxProbe(
      { host: 'mx.example.test', port: 25, addresses: [tested('192.0.2.1')], services: [] },
      { now: new Date(), resolver },
    );
    expect(r.findings).toEqual([]);
    expect(r.facts.addresses[0]?.reverseDns).toEqual({ ptr: [], bannerHostConfirmed: 'unknown' });
  });

  it('should report a PTR name that does not resolve back to the address', async () => {
    const resolver = createZoneResolver({
      '1.2.0.192.in-addr.arpa': { PTR: ['mx.example.test'] },
      'mx.example.test': { A: ['192.0.2.99'] },
    });
    const r = await analyseMxProbe(
      { host: 'mx.example.test', port: 25, addresses: [tested('192.0.2.1')], services: [] },
      { now: new Date(), resolver },
    );
    expect(r.findings.map((f) => f.code)).toEqual(['smtp.banner_hostname_mismatch']);
    expect(r.findings[0]?.message).toMatch(/does not resolve back/);
  });
});

describe(softwareInBanner.name, () => {
  it('should find product versions, and only note a product without one', () => {
    expect(softwareInBanner('mx.example.test ESMTP Exim 4.96 Mon, 01 Jan 2024 10:00:00 +0000')).toEqual({
      product: 'exim',
      version: '4.96',
    });
    expect(softwareInBanner('mail.example.test Microsoft ESMTP MAIL Service, Version: 10.0.17763.1')).toEqual(
      {
        product: 'microsoft esmtp mail service',
        version: '10.0.17763.1',
      },
    );
    expect(softwareInBanner('mx.example.test ESMTP Postfix (Debian/GNU)')).toEqual({ product: 'postfix' });
    expect(softwareInBanner('mx.example.test ESMTP ready [192.0.2.1]')).toBeUndefined();
  });
});
