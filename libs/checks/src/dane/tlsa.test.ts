import { createHash, X509Certificate } from 'node:crypto';
import { createTestCa, issueCert, type TestCa } from '@mailwarden/testing/tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyseTlsaRecord, matchTlsa } from './tlsa.ts';

const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
const spki = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
const sha = (alg: 'sha256' | 'sha512', data: Uint8Array) => createHash(alg).update(data).digest('hex');

let ca: TestCa;
let other: TestCa;
let leafPem: string;
let nextLeafPem: string;

beforeAll(async () => {
  ca = await createTestCa({ fresh: true, name: 'DANE test CA' });
  other = await createTestCa({ fresh: true, name: 'Other CA' });
  leafPem = (await issueCert(ca, { names: ['mx.secure.test'] })).certPem;
  nextLeafPem = (await issueCert(ca, { names: ['mx.secure.test', 'next.secure.test'] })).certPem;
});

describe(analyseTlsaRecord.name, () => {
  it('should accept DANE-EE and DANE-TA records with the right digest lengths', () => {
    expect(analyseTlsaRecord({ usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(32) }).usable).toBe(
      true,
    );
    expect(analyseTlsaRecord({ usage: 2, selector: 0, matchingType: 2, data: 'ab'.repeat(64) }).usable).toBe(
      true,
    );
  });

  it('should flag PKIX usages as unusable for SMTP', () => {
    expect(
      analyseTlsaRecord({ usage: 1, selector: 1, matchingType: 1, data: 'ab'.repeat(32) }),
    ).toMatchObject({
      usable: false,
      problems: ['pkix_usage'],
    });
  });

  it('should flag malformed records', () => {
    expect(
      analyseTlsaRecord({ usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(20) }).problems,
    ).toEqual(['bad_digest_length']);
    expect(analyseTlsaRecord({ usage: 4, selector: 2, matchingType: 3, data: '' }).problems).toEqual([
      'unknown_usage',
      'unknown_selector',
      'unknown_matching_type',
      'empty_data',
    ]);
    expect(analyseTlsaRecord({ usage: 3, selector: 0, matchingType: 0, data: 'deadbeef' }).problems).toEqual([
      'unparseable_data',
    ]);
  });
});

describe(matchTlsa.name, () => {
  it('should match DANE-EE on the leaf SPKI and certificate with every matching type', () => {
    const chain = [der(leafPem), der(ca.certPem)];
    const key = spki(leafPem);
    for (const [selector, data] of [
      [1, sha('sha256', key)],
      [1, sha('sha512', key)],
      [1, Buffer.from(key).toString('hex')],
      [0, sha('sha256', chain[0] as Uint8Array)],
      [0, Buffer.from(chain[0] as Uint8Array).toString('hex')],
    ] as const) {
      const matchingType = data.length === 64 ? 1 : data.length === 128 ? 2 : 0;
      const result = matchTlsa([{ usage: 3, selector, matchingType, data }], chain);
      expect(result.matched, `${selector} ${matchingType}`).toBe(true);
      expect(result.records[0]).toMatchObject({ certIndex: 0 });
    }
  });

  it('should not match DANE-EE against an issuer or another certificate', () => {
    const chain = [der(nextLeafPem), der(ca.certPem)];
    const result = matchTlsa(
      [
        { usage: 3, selector: 0, matchingType: 1, data: sha('sha256', der(leafPem)) },
        { usage: 3, selector: 1, matchingType: 1, data: sha('sha256', spki(leafPem)) },
        { usage: 3, selector: 1, matchingType: 1, data: sha('sha256', spki(ca.certPem)) },
      ],
      chain,
    );
    expect(result.matched).toBe(false);
    expect(result.records.map((r) => r.reason)).toEqual(Array(3).fill('DANE-EE: the leaf does not match'));
  });

  it('should match DANE-TA on an issuer that signs the leaf, and check reference names when given', () => {
    const record = { usage: 2, selector: 1, matchingType: 1, data: sha('sha256', spki(ca.certPem)) };
    const chain = [der(leafPem), der(ca.certPem)];
    expect(matchTlsa([record], chain)).toMatchObject({ matched: true, records: [{ certIndex: 1 }] });
    expect(matchTlsa([record], chain, { referenceNames: ['mx.secure.test'] }).matched).toBe(true);
    expect(matchTlsa([record], chain, { referenceNames: ['mx.other.test'] }).matched).toBe(false);
  });

  it('should refuse DANE-TA when the matching issuer did not sign the chain below it', () => {
    const record = { usage: 2, selector: 1, matchingType: 1, data: sha('sha256', spki(other.certPem)) };
    const result = matchTlsa([record], [der(leafPem), der(other.certPem)]);
    expect(result.matched).toBe(false);
    expect(result.records[0]?.reason).toMatch(/does not verify/);
  });

  it('should never use PKIX usages, even when the data matches', () => {
    const record = { usage: 1, selector: 1, matchingType: 1, data: sha('sha256', spki(leafPem)) };
    const result = matchTlsa([record], [der(leafPem)]);
    expect(result).toMatchObject({ matched: false, usableRecords: 0 });
    expect(result.records[0]?.reason).toMatch(/pkix_usage/);
  });

  it('should survive garbage certificates', () => {
    const result = matchTlsa(
      [{ usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(32) }],
      [new Uint8Array([1, 2, 3])],
    );
    expect(result.matched).toBe(false);
    expect(result.records[0]?.reason).toMatch(/cannot be parsed/);
  });
});
