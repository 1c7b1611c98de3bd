/**
 * The TLS session analysis on real certificates from the test CA (DER, as the probe hands them
 * over). The sessions themselves are recorded shapes of what the probe reports; the probe against
 * live servers is covered by test/mx-probe.e2e.test.ts.
 */
import { X509Certificate } from 'node:crypto';
import { createTestCa, type IssuedCert, issueCert, type TestCa } from '@mailwarden/testing/tls';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ProbeTls } from '../smtp/probe-input.ts';
import { analyseTlsSession, hasForwardSecrecy, isWeakSuite } from './analyse-tls.ts';
import { signatureAlgorithmOid, summariseCertificate, weakKeyReason } from './certificate.ts';
import { certificateNamesHost, nameMatches } from './hostname.ts';

const DAY_MS = 86_400_000;
const NOW = new Date();
let ca: TestCa;

const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);

function session(cert: IssuedCert, extra: Partial<ProbeTls> = {}): ProbeTls {
  return {
    protocol: 'TLSv1.3',
    cipher: { name: 'TLS_AES_128_GCM_SHA256', standardName: 'TLS_AES_128_GCM_SHA256' },
    authorized: true,
    servername: 'mx.example.test',
    chainDer: [der(cert.certPem), der(ca.certPem)],
    ...extra,
  };
}

async function leafExpiringIn(days: number): Promise<IssuedCert> {
  return issueCert(ca, { names: ['mx.example.test'], notAfter: new Date(NOW.getTime() + days * DAY_MS) });
}

const codes = (r: { findings: { code: string }[] }) => r.findings.map((f) => f.code).sort();

beforeAll(async () => {
  ca = await createTestCa();
});

describe(analyseTlsSession.name, () => {
  it('should raise one expiry finding per certificate, for the narrowest default window', async () => {
    const cases: [number, string[]][] = [
      [90, []],
      [20, ['tls.cert_expiring']],
      [10, ['tls.cert_expiring_soon']],
      [3, ['tls.cert_expiring_imminent']],
    ];
    for (const [days, expected] of cases) {
      const r = analyseTlsSession('mx [192.0.2.1]', 'mx.example.test', session(await leafExpiringIn(days)), {
        now: NOW,
      });
      expect(codes(r), `${days} days`).toEqual(expected);
      expect(r.valid).toBe(true);
    }
  });

  it('should use configured expiry windows', async () => {
    const cert = await leafExpiringIn(50);
    const ctx = { now: NOW, expiryWarningDays: [60, 45, 20] as const };
    const r = analyseTlsSession('s', 'mx.example.test', session(cert), ctx);
    expect(codes(r)).toEqual(['tls.cert_expiring']);
    expect(r.findings[0]?.evidence).toMatchObject({ windowDays: 60, daysLeft: 49 });
  });

  it('should report a certificate that is not valid yet, and it goes away once valid', async () => {
    const cert = await issueCert(ca, {
      names: ['mx.example.test'],
      notBefore: new Date(NOW.getTime() + 2 * DAY_MS),
      notAfter: new Date(NOW.getTime() + 120 * DAY_MS),
    });
    const early = analyseTlsSession(
      's',
      'mx.example.test',
      session(cert, { authorized: false, authorizationError: 'CERT_NOT_YET_VALID' }),
      {
        now: NOW,
      },
    );
    expect(codes(early)).toEqual(['tls.cert_not_yet_valid']);
    expect(early.valid).toBe(false);
    const later = analyseTlsSession('s', 'mx.example.test', session(cert), {
      now: new Date(NOW.getTime() + 3 * DAY_MS),
    });
    expect(codes(later)).toEqual([]);
  });

  it('should skip names, issuer and dates when DANE-EE authenticated the certificate (RFC 7672 §3.1.1)', async () => {
    const other = await createTestCa({ fresh: true });
    const cert = await issueCert(other, {
      names: ['elsewhere.test'],
      notBefore: new Date(NOW.getTime() - 60 * DAY_MS),
      notAfter: new Date(NOW.getTime() - DAY_MS),
    });
    const tls = session(cert, {
      authorized: false,
      authorizationError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      chainDer: [der(cert.certPem)],
    });
    expect(codes(analyseTlsSession('s', 'mx.example.test', tls, { now: NOW }))).toEqual([
      'tls.cert_expired',
      'tls.cert_name_mismatch',
      'tls.cert_untrusted',
    ]);
    expect(
      codes(analyseTlsSession('s', 'mx.example.test', tls, { now: NOW, daneEeAuthenticated: true })),
    ).toEqual([]);
  });

  it('should report weak and non-forward-secret negotiated suites', async () => {
    const cert = await leafExpiringIn(90);
    const weak = session(cert, {
      protocol: 'TLSv1.2',
      cipher: { name: 'AECDH-AES128-SHA', standardName: 'TLS_ECDH_anon_WITH_AES_128_CBC_SHA' },
      ephemeralKey: { type: 'ECDH', name: 'X25519', size: 253 },
    });
    expect(codes(analyseTlsSession('s', 'mx.example.test', weak, { now: NOW }))).toEqual(['tls.weak_cipher']);
    const staticRsa = session(cert, {
      protocol: 'TLSv1.2',
      cipher: { name: 'AES128-GCM-SHA256', standardName: 'TLS_RSA_WITH_AES_128_GCM_SHA256' },
    });
    expect(codes(analyseTlsSession('s', 'mx.example.test', staticRsa, { now: NOW }))).toEqual([
      'tls.no_forward_secrecy',
    ]);
  });
});

describe('cipher suite classes', () => {
  it('should tell weak suites and forward secrecy apart by OpenSSL and IANA names', () => {
    for (const name of [
      'DES-CBC3-SHA',
      'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
      'RC4-SHA',
      'ADH-AES128-SHA',
      'NULL-SHA256',
      'TLS_RSA_WITH_NULL_SHA256',
      'EXP-RC4-MD5',
    ]) {
      expect(isWeakSuite(name), name).toBe(true);
    }
    for (const name of [
      'TLS_AES_128_GCM_SHA256',
      'ECDHE-RSA-AES128-GCM-SHA256',
      'TLS_RSA_WITH_AES_128_CBC_SHA',
    ]) {
      expect(isWeakSuite(name), name).toBe(false);
    }
    expect(hasForwardSecrecy({ protocol: 'TLSv1.3', cipher: { name: 'TLS_AES_256_GCM_SHA384' } })).toBe(true);
    expect(hasForwardSecrecy({ protocol: 'TLSv1.2', cipher: { name: 'ECDHE-RSA-AES128-SHA' } })).toBe(true);
    expect(
      hasForwardSecrecy({
        protocol: 'TLSv1',
        cipher: { name: 'AES128-SHA', standardName: 'TLS_RSA_WITH_AES_128_CBC_SHA' },
      }),
    ).toBe(false);
  });
});

describe(summariseCertificate.name, () => {
  it('should read the signature algorithm, key and names from DER', async () => {
    const rsa = await issueCert(ca, { names: ['mx.example.test', 'mx2.example.test'], keyType: 'rsa-1024' });
    const summary = summariseCertificate(der(rsa.certPem));
    expect(summary).toMatchObject({
      dnsNames: ['mx.example.test', 'mx2.example.test'],
      commonName: 'mx.example.test',
      selfSigned: false,
      isCa: false,
      key: { type: 'rsa', bits: 1024 },
      signature: { oid: '1.2.840.10045.4.3.2', name: 'ecdsa-with-SHA256', hash: 'sha256' },
    });
    expect(weakKeyReason(summary?.key ?? { type: 'x' })).toMatch(/RSA 1024 bits/);
    expect(summariseCertificate(der(ca.certPem))).toMatchObject({
      selfSigned: true,
      isCa: true,
      key: { type: 'ec', curve: 'prime256v1' },
    });
  });

  it('should survive bytes that are not a certificate', () => {
    expect(summariseCertificate(new Uint8Array([0x30, 0x82, 0xff, 0xff, 1, 2, 3]))).toBeUndefined();
    expect(signatureAlgorithmOid(new Uint8Array([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]))).toBeUndefined();
    expect(signatureAlgorithmOid(new Uint8Array(0))).toBeUndefined();
  });
});

describe(nameMatches.name, () => {
  it('should follow RFC 6125 §6.4: exact names, one-label wildcards, CN only without dNSName', () => {
    expect(nameMatches('MX.Example.Test.', 'mx.example.test')).toBe(true);
    expect(nameMatches('mx.example.test', '*.example.test')).toBe(true);
    expect(nameMatches('a.mx.example.test', '*.example.test')).toBe(false);
    expect(nameMatches('example.test', '*.example.test')).toBe(false);
    expect(nameMatches('mx.test', '*.test')).toBe(false);
    expect(certificateNamesHost('mx.example.test', { dnsNames: [], commonName: 'mx.example.test' })).toBe(
      true,
    );
    expect(
      certificateNamesHost('mx.example.test', { dnsNames: ['other.test'], commonName: 'mx.example.test' }),
    ).toBe(false);
  });
});
