/**
 * Key records from the shared corpus (dkimpy, mailauth and stalwart mail-auth test data), read as
 * they are, plus synthetic keys of chosen sizes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CORPUS_DIR } from '../dmarc/zonefile.test-helper.ts';
import { analyseKeyRecord } from './key-findings.ts';
import { looksLikeKeyRecord, parseDkimKeyRecord } from './key-record.ts';
import { analysePublicKey } from './public-key.ts';
import { rsaKeyBase64 } from './test-keys.test-helper.ts';

const corpus = (path: string) => readFileSync(`${CORPUS_DIR}/dkim/${path}`, 'utf8').trim();

/** `<selector>._domainkey.<domain> <value>` lines before the first blank line of a stalwart file. */
function stalwartRecords(file: string): Map<string, string> {
  const head = corpus(`stalwart-mail-auth/${file}`).split('\n\n')[0] ?? '';
  return new Map(
    head.split('\n').map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]),
  );
}

const codesOf = (raw: string) =>
  analyseKeyRecord('s._domainkey.example.com', raw).findings.map((f) => f.code);

describe('DKIM key records from the corpus', () => {
  it('should read dkimpy test.txt as a usable 1024-bit RSA key (weak)', () => {
    const { facts, findings } = analyseKeyRecord('test._domainkey.example.com', corpus('dkimpy/test.txt'));
    expect(facts).toMatchObject({
      keyType: 'rsa',
      bits: 1024,
      keyFormat: 'spki',
      usable: true,
      revoked: false,
    });
    expect(findings.map((f) => f.code)).toEqual(['dkim.key_weak']);
  });

  it('should default k= to rsa (dkimpy test2.txt)', () => {
    expect(parseDkimKeyRecord(corpus('dkimpy/test2.txt')).keyType).toBe('rsa');
    expect(codesOf(corpus('dkimpy/test2.txt'))).toEqual(['dkim.key_weak']);
  });

  it('should report k=ed25519-sha256 as an unknown key type (dkimpy badk.txt)', () => {
    expect(codesOf(corpus('dkimpy/badk.txt'))).toEqual(['dkim.unknown_key_type']);
  });

  it('should discard v=DKIM1: as a bad version (dkimpy badversion.txt)', () => {
    const record = parseDkimKeyRecord(corpus('dkimpy/badversion.txt'));
    expect(record.usable).toBe(false);
    expect(codesOf(corpus('dkimpy/badversion.txt'))).toContain('dkim.syntax_error');
  });

  it('should report damaged key data (dkimpy test_bad.txt)', () => {
    const { facts, findings } = analyseKeyRecord('s', corpus('dkimpy/test_bad.txt'));
    expect(findings.map((f) => f.code)).toEqual(['dkim.syntax_error']);
    expect(findings[0]?.message).toContain('DER');
    expect(facts.usable).toBe(false);
  });

  it('should report a key for another service (dkimpy test_tlsrpt.txt, s=tlsrpt)', () => {
    expect(codesOf(corpus('dkimpy/test_tlsrpt.txt'))).toEqual(['dkim.key_weak', 'dkim.service_not_email']);
  });

  it('should accept Ed25519 keys with and without v= (dkimpy ed25519test.dns, eximtest.dns)', () => {
    for (const file of ['dkimpy/ed25519test.dns', 'dkimpy/eximtest.dns']) {
      const { facts, findings } = analyseKeyRecord('s', corpus(file));
      expect(facts).toMatchObject({ keyType: 'ed25519', bits: 256, keyFormat: 'raw', usable: true });
      expect(findings).toEqual([]);
    }
  });

  it('should join split TXT strings (mailauth ec-dns.json)', () => {
    const dns = JSON.parse(corpus('mailauth/ec-dns.json')) as Record<string, { TXT: string[][] }>;
    const split = dns['test._domainkey.football.example.com']?.TXT[0] ?? [];
    expect(split.length).toBeGreaterThan(1);
    expect(analyseKeyRecord('test', split.join('')).facts).toMatchObject({
      keyType: 'rsa',
      bits: 1024,
      usable: true,
    });
  });

  it('should read every stalwart key record, including a raw RSAPublicKey (002) and t=s flags (004, 006)', () => {
    const all = new Map([1, 2, 3, 4, 5, 6].flatMap((n) => [...stalwartRecords(`00${n}.txt`)]));
    expect(all.size).toBeGreaterThanOrEqual(7);
    for (const [name, value] of all) {
      const { facts } = analyseKeyRecord(name, value);
      expect(facts.usable, name).toBe(true);
    }
    expect(analyseKeyRecord('n', all.get('newengland._domainkey.example.com') ?? '').facts.keyFormat).toBe(
      'pkcs1',
    );
    const facebook = analyseKeyRecord('f', all.get('s1024-2013-q3._domainkey.facebookmail.com') ?? '').facts;
    expect(facebook).toMatchObject({ strictIdentity: true, hashAlgorithms: ['sha256'], testing: false });
  });
});

describe('parseDkimKeyRecord', () => {
  it('should treat tag names case-sensitively and duplicates as invalid', () => {
    const upper = parseDkimKeyRecord(`V=DKIM1; P=${rsaKeyBase64(2048)}`);
    expect(upper.publicKey).toBeNull();
    expect(upper.usable).toBe(false);
    const twice = parseDkimKeyRecord(`v=DKIM1; p=${rsaKeyBase64(2048)}; p=`);
    expect(twice.usable).toBe(false);
    expect(twice.problems[0]).toMatchObject({
      kind: 'syntax',
      reason: expect.stringContaining('more than once'),
    });
  });

  it('should require v= to come first when present', () => {
    const record = parseDkimKeyRecord(`k=rsa; v=DKIM1; p=${rsaKeyBase64(2048)}`);
    expect(record.usable).toBe(false);
  });

  it('should strip folding whitespace inside p=', () => {
    const key = rsaKeyBase64(2048);
    const record = parseDkimKeyRecord(`v=DKIM1; p=${key.slice(0, 100)} \r\n\t${key.slice(100)}`);
    expect(record.publicKey).toBe(key);
  });

  it('should tell key-like records from other TXT data', () => {
    expect(looksLikeKeyRecord('v=DKIM1; p=abc')).toBe(true);
    expect(looksLikeKeyRecord('k=rsa; p=abc')).toBe(true);
    expect(looksLikeKeyRecord('v=spf1 include:example.net -all')).toBe(false);
  });
});

describe('analysePublicKey', () => {
  it.each([512, 1024, 2048, 4096, 8192])('should measure a %i-bit RSA key', (bits) => {
    expect(analysePublicKey('rsa', rsaKeyBase64(bits))).toEqual({
      ok: true,
      keyType: 'rsa',
      bits,
      format: 'spki',
    });
  });

  it('should refuse a non-RSA key published as k=rsa', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    expect(analysePublicKey('rsa', ec.toString('base64'))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('ec'),
    });
  });

  it('should refuse an Ed25519 key wrapped in SubjectPublicKeyInfo', () => {
    const spki = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    expect(analysePublicKey('ed25519', spki.toString('base64'))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('raw 32 bytes'),
    });
  });

  it('should refuse bad base64 and implausibly large data without parsing it', () => {
    expect(analysePublicKey('rsa', 'not*base64')).toMatchObject({ ok: false });
    expect(analysePublicKey('rsa', 'A'.repeat(100_000))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('far more'),
    });
  });
});
