import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestCa, issueCert, issueSelfSignedCert } from './test-ca.ts';

describe('test CA', () => {
  it('is made once per process unless a fresh one is asked for', async () => {
    const a = await createTestCa();
    expect(await createTestCa()).toBe(a);
    const other = await createTestCa({ fresh: true });
    expect(other.certPem).not.toBe(a.certPem);
    const x = new X509Certificate(a.certPem);
    expect(x.ca).toBe(true);
  });

  it('issues leaves with the asked names, dates and key type, signed by the CA', async () => {
    const ca = await createTestCa();
    const caCert = new X509Certificate(ca.certPem);
    const notBefore = new Date('2020-01-01T00:00:00Z');
    const notAfter = new Date('2021-01-01T00:00:00Z');
    const leaf = await issueCert(ca, {
      names: ['mta-sts.a.test', '127.0.0.9', '::1'],
      notBefore,
      notAfter,
      keyType: 'rsa-2048',
    });
    const x = new X509Certificate(leaf.certPem);
    expect(x.subjectAltName).toBe('DNS:mta-sts.a.test, IP Address:127.0.0.9, IP Address:0:0:0:0:0:0:0:1');
    expect(new Date(x.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(x.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(x.ca).toBe(false);
    expect(x.checkIssued(caCert) && x.verify(caCert.publicKey)).toBe(true);
    expect(x.publicKey.asymmetricKeyType).toBe('rsa');
    expect(leaf.chainPem).toContain(ca.certPem.trim());
    expect(
      await issueCert(ca, {
        names: ['mta-sts.a.test', '127.0.0.9', '::1'],
        notBefore,
        notAfter,
        keyType: 'rsa-2048',
      }),
    ).toBe(leaf);
  });

  it('defaults to a currently valid EC certificate', async () => {
    const leaf = await issueCert(await createTestCa(), { names: ['now.test'] });
    const x = new X509Certificate(leaf.certPem);
    const now = Date.now();
    expect(new Date(x.validFrom).getTime()).toBeLessThan(now);
    expect(new Date(x.validTo).getTime()).toBeGreaterThan(now);
    expect(x.publicKey.asymmetricKeyType).toBe('ec');
  });

  it('issues self-signed leaves that no CA vouches for', async () => {
    const self = await issueSelfSignedCert({ names: ['self.test'], keyType: 'ed25519' });
    const x = new X509Certificate(self.certPem);
    expect(x.checkIssued(x)).toBe(true);
    expect(x.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(x.checkIssued(new X509Certificate((await createTestCa()).certPem))).toBe(false);
  });
});
