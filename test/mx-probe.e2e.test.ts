/**
 * The MX probe end to end on loopback: libs/net's `probeMx` against real SMTP servers (smtp-server,
 * and raw servers for the hostile ones) with certificates from the test CA, and libs/checks'
 * `analyseMxProbe` over what it saw. Each fixture has its own 127.0.8.x address; only 127.0.0.0/8
 * is allowed, and nothing else is dialled. Every finding code of the probe appears here or in the
 * unit tests of libs/checks/src/tls and libs/checks/src/smtp, and goes away on the good server.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { matchTlsa } from '@mailwarden/checks';
import { issueSha1Cert, scriptedSmtp } from '@mailwarden/testing/smtp-server';
import { createTestCa, issueCert, issueSelfSignedCert } from '@mailwarden/testing/tls';
import { createZoneResolver } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';

import { ca, DAY_MS, good, raw, run, secureContext, smtp } from './mx-probe-kit.ts';

describe('probeMx + analyseMxProbe', () => {
  it('should find nothing on a good server, and send no MAIL, RCPT or DATA', async () => {
    const s = await smtp({ host: '127.0.8.1' });
    const resolver = createZoneResolver({
      '1.8.0.127.in-addr.arpa': { PTR: ['mx.good.test'] },
      'mx.good.test': { A: ['127.0.8.1'] },
    });
    const { result, analysis, codes } = await run(
      'MX.Good.Test.',
      s,
      { probeVersions: true, probeCiphers: true },
      { resolver, mtaSts: { mode: 'enforce', mx: ['mx.good.test'] } },
    );
    expect(codes).toEqual([]);
    expect(analysis.status).toBe('ok');
    const address = result.addresses[0];
    expect(address).toMatchObject({ outcome: 'tested', starttls: { outcome: 'ok' }, vrfy: { code: 252 } });
    expect(address?.tls?.servername).toBe('mx.good.test');
    // Leaf first, DER, as the server sent it (plus the CA it chains to).
    expect(new X509Certificate(Buffer.from(address?.tls?.chainDer[0] ?? [])).subject).toContain(
      'mx.good.test',
    );
    expect(address?.versions).toMatchObject({
      SSLv3: { outcome: 'not_testable' },
      'TLSv1.3': { outcome: 'accepted' },
      'TLSv1.2': { outcome: 'accepted' },
      'TLSv1.1': { outcome: 'rejected' },
      TLSv1: { outcome: 'rejected' },
    });
    expect(analysis.facts.addresses[0]?.reverseDns).toEqual({
      ptr: ['mx.good.test'],
      bannerHostConfirmed: true,
    });
    expect(s.servernames.every((n) => n === 'mx.good.test')).toBe(true);
    expect([s.mailFrom, s.rcptTo, s.dataCommands]).toEqual([[], [], 0]);
  });

  it('should report no STARTTLS, and an enforce-mode MTA-STS policy that cannot work', async () => {
    const s = await smtp({ host: '127.0.8.2', cert: null });
    const { codes } = await run('mx.good.test', s, {}, { mtaSts: { mode: 'enforce', mx: ['*.good.test'] } });
    expect(codes).toEqual(['tls.mta_sts_invalid_tls', 'tls.no_starttls']);
  });

  it('should report an MX that the MTA-STS policy does not list', async () => {
    const s = await smtp({ host: '127.0.8.3' });
    const { codes, analysis } = await run(
      'mx.good.test',
      s,
      {},
      { mtaSts: { mode: 'testing', mx: ['mx.other.test'] } },
    );
    expect(codes).toEqual(['tls.mta_sts_mx_not_covered']);
    expect(analysis.findings[0]?.subject).toBe('mx.good.test');
  });

  it('should report an expired certificate (and not also call it untrusted)', async () => {
    const cert = await issueCert(ca, {
      names: ['mx.good.test'],
      notBefore: new Date(Date.now() - 60 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const s = await smtp({ host: '127.0.8.4', cert });
    const { codes, result } = await run('mx.good.test', s);
    expect(result.addresses[0]?.tls?.authorizationError).toBe('CERT_HAS_EXPIRED');
    expect(codes).toEqual(['tls.cert_expired']);
  });

  it('should report a self-signed certificate', async () => {
    const cert = await issueSelfSignedCert({ names: ['mx.good.test'] });
    const s = await smtp({ host: '127.0.8.5', cert });
    const { codes } = await run('mx.good.test', s);
    expect(codes).toEqual(['tls.cert_expiring', 'tls.cert_self_signed']);
  });

  it('should report a certificate for another name', async () => {
    const cert = await issueCert(ca, {
      names: ['mail.elsewhere.test'],
      notAfter: new Date(Date.now() + 90 * DAY_MS),
    });
    const s = await smtp({ host: '127.0.8.6', cert });
    const { codes, analysis } = await run('mx.good.test', s);
    expect(codes).toEqual(['tls.cert_name_mismatch']);
    expect(analysis.findings[0]?.evidence).toMatchObject({
      host: 'mx.good.test',
      dnsNames: ['mail.elsewhere.test'],
    });
  });

  it('should report a chain from a CA nobody trusts', async () => {
    const other = await createTestCa({ fresh: true });
    const cert = await issueCert(other, {
      names: ['mx.good.test'],
      notAfter: new Date(Date.now() + 90 * DAY_MS),
    });
    const s = await smtp({ host: '127.0.8.7', cert });
    const { codes, analysis } = await run('mx.good.test', s);
    expect(codes).toEqual(['tls.cert_untrusted']);
    expect(analysis.findings[0]?.evidence.authorizationError).toMatch(
      /UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT_IN_CHAIN/,
    );
  });

  it('should report TLS 1.0 and 1.1 accepted, each found by its own handshake', async () => {
    const s = await smtp({ host: '127.0.8.8', minVersion: 'TLSv1', maxVersion: 'TLSv1.2' });
    const { codes, result } = await run('mx.good.test', s, { probeVersions: true });
    expect(result.addresses[0]?.versions).toMatchObject({
      TLSv1: { outcome: 'accepted' },
      'TLSv1.1': { outcome: 'accepted' },
      'TLSv1.2': { outcome: 'accepted' },
      'TLSv1.3': { outcome: 'rejected' },
    });
    expect(codes).toEqual(['tls.legacy_protocol', 'tls.no_tls13']);
  });

  it('should report a server without TLS 1.2 or 1.3', async () => {
    const s = await smtp({ host: '127.0.8.9', minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    const { codes } = await run('mx.good.test', s, { probeVersions: true });
    expect(codes).toEqual(['tls.legacy_protocol', 'tls.no_modern_protocol']);
  });

  it('should report anonymous suites accepted when a client offers only those', async () => {
    const s = await smtp({ host: '127.0.8.10', ciphers: 'ECDHE+AESGCM:aNULL', maxVersion: 'TLSv1.2' });
    const { codes, result } = await run('mx.good.test', s, { probeCiphers: true });
    expect(result.addresses[0]?.ciphers?.anonymous).toMatchObject({ outcome: 'accepted' });
    expect(codes).toEqual(['tls.weak_cipher']);
  });

  it('should report a key exchange without forward secrecy', async () => {
    const rsa = await issueCert(ca, {
      names: ['mx.good.test'],
      keyType: 'rsa-2048',
      notAfter: new Date(Date.now() + 90 * DAY_MS),
    });
    const s = await smtp({
      host: '127.0.8.11',
      cert: rsa,
      ciphers: 'AES128-GCM-SHA256:AES256-SHA',
      maxVersion: 'TLSv1.2',
    });
    const { codes, result } = await run('mx.good.test', s, { probeCiphers: true });
    expect(result.addresses[0]?.ciphers?.static_rsa).toMatchObject({ outcome: 'accepted' });
    expect(codes).toEqual(['tls.no_forward_secrecy']);
  });

  it('should report a 1024-bit RSA key and a SHA-1 signature', async () => {
    const weakKey = await issueCert(ca, {
      names: ['mx.good.test'],
      keyType: 'rsa-1024',
      notAfter: new Date(Date.now() + 90 * DAY_MS),
    });
    const a = await smtp({ host: '127.0.8.12', cert: weakKey });
    expect((await run('mx.good.test', a)).codes).toEqual(['tls.cert_weak_key']);
    const sha1 = await issueSha1Cert(ca, ['mx.good.test']);
    const b = await smtp({ host: '127.0.8.13', cert: sha1 });
    const { codes, analysis } = await run('mx.good.test', b);
    expect(codes).toEqual(['tls.cert_expiring', 'tls.cert_weak_signature']);
    expect(
      analysis.findings.find((f) => f.code === 'tls.cert_weak_signature')?.evidence.signature,
    ).toMatchObject({
      name: 'ecdsa-with-SHA1',
    });
  });

  it('should report AUTH before STARTTLS and a disclosed software version', async () => {
    const s = await smtp({ host: '127.0.8.14', auth: true, banner: 'Postfix 3.7.11 (Debian)' });
    const { codes, analysis } = await run('mx.good.test', s);
    expect(codes).toEqual(['smtp.auth_before_starttls', 'smtp.version_disclosed']);
    expect(analysis.facts.addresses[0]?.software).toEqual({ product: 'postfix', version: '3.7.11' });
  });

  it('should run the relay test only when asked, with example.invalid addresses, and stop at RCPT', async () => {
    const open = await smtp({ host: '127.0.8.15', openRelay: true });
    const quiet = await run('mx.good.test', open);
    expect(quiet.codes).toEqual([]);
    expect(open.rcptTo).toEqual([]);
    const tested = await run('mx.good.test', open, { relayTest: true });
    expect(tested.codes).toEqual(['smtp.open_relay']);
    expect(open.rcptTo).toHaveLength(1);
    expect(open.rcptTo[0]).toMatch(/@example\.invalid$/);
    expect(open.mailFrom).toEqual(['mailwarden-relay-test@example.invalid']);
    expect(open.dataCommands).toBe(0);

    const closed = await smtp({ host: '127.0.8.16', localDomains: ['good.test'] });
    const refused = await run('mx.good.test', closed, { relayTest: true });
    expect(refused.codes).toEqual([]);
    expect(refused.analysis.facts.addresses[0]?.relay).toMatchObject({ accepted: false, rcptCode: 554 });
  });

  it('should report VRFY and EXPN that confirm mailboxes', async () => {
    const s = await raw(
      '127.0.8.17',
      scriptedSmtp({
        name: 'mx.good.test',
        keywords: ['PIPELINING', 'STARTTLS'],
        tls: secureContext(good),
        replies: { VRFY: '250 2.1.5 Postmaster <postmaster@good.test>', EXPN: '250 2.1.5 <root@good.test>' },
      }),
    );
    const { codes } = await run('mx.good.test', s);
    expect(codes).toEqual(['smtp.expn_enabled', 'smtp.vrfy_enabled']);
    expect(s.commands).toContain('VRFY postmaster');
    expect(s.commands.some((c) => /^(MAIL|RCPT|DATA)\b/i.test(c))).toBe(false);
  });

  it('should report STARTTLS that is refused', async () => {
    const s = await raw(
      '127.0.8.18',
      scriptedSmtp({
        name: 'mx.good.test',
        keywords: ['STARTTLS'],
        replies: { STARTTLS: '454 4.7.0 TLS not available' },
      }),
    );
    const { codes } = await run('mx.good.test', s);
    expect(codes).toEqual(['tls.starttls_failed']);
  });

  it('should report a greeting host that is not the PTR name of the address', async () => {
    const s = await smtp({ host: '127.0.8.19' });
    const resolver = createZoneResolver({
      '19.8.0.127.in-addr.arpa': { PTR: ['host-19.isp.test'] },
      'host-19.isp.test': { A: ['127.0.8.19'] },
    });
    const { codes, analysis } = await run('mx.good.test', s, {}, { resolver });
    expect(codes).toEqual(['smtp.banner_hostname_mismatch']);
    expect(analysis.findings[0]?.evidence).toEqual({ bannerHost: 'mx.good.test', ptr: ['host-19.isp.test'] });
  });

  it('should pass the chain to the injected DANE matcher and report a mismatch only for secure TLSA', async () => {
    const s = await smtp({ host: '127.0.8.20' });
    const seen: number[] = [];
    const tlsa = [{ usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(32) }];
    const dane = (matched: boolean, secure = true) => ({
      tlsa,
      secure,
      match: (_records: unknown, chain: readonly Uint8Array[]) => {
        seen.push(chain.length);
        return { matched, usage: 3 };
      },
    });
    expect((await run('mx.good.test', s, {}, { dane: dane(false) })).codes).toEqual(['tls.dane_mismatch']);
    expect((await run('mx.good.test', s, {}, { dane: dane(true) })).codes).toEqual([]);
    expect((await run('mx.good.test', s, {}, { dane: dane(false, false) })).codes).toEqual([]);
    expect(seen).toEqual([2, 2]);
  });
});

describe('DANE with the real matcher (libs/checks/src/dane)', () => {
  it('should accept a self-signed certificate that DANE-EE TLSA authenticates, and report a stale record', async () => {
    const cert = await issueSelfSignedCert({ names: ['mx.dane.test'] });
    const s = await smtp({ host: '127.0.8.21', cert });
    const spki = new X509Certificate(cert.certPem).publicKey.export({ type: 'spki', format: 'der' });
    const current = {
      usage: 3,
      selector: 1,
      matchingType: 1,
      data: createHash('sha256').update(spki).digest('hex'),
    };
    const stale = { ...current, data: createHash('sha256').update('an old key').digest('hex') };
    const authenticated = await run(
      'mx.good.test',
      s,
      {},
      { dane: { tlsa: [current], secure: true, match: matchTlsa } },
    );
    expect(authenticated.codes).toEqual([]);
    expect(authenticated.analysis.facts.addresses[0]?.dane?.matched).toBe(true);
    const mismatch = await run(
      'mx.good.test',
      s,
      {},
      { dane: { tlsa: [stale], secure: true, match: matchTlsa } },
    );
    expect(mismatch.codes).toEqual([
      'tls.cert_expiring',
      'tls.cert_name_mismatch',
      'tls.cert_self_signed',
      'tls.dane_mismatch',
    ]);
  });
});
