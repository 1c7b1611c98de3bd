import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { isTlsRptRecord, parseTlsRptRecord } from './record.ts';
import { checkTlsRpt } from './tls-rpt.ts';

async function run(zone: Zone) {
  const result = await checkTlsRpt('example.com', { resolver: createZoneResolver(zone) });
  return { result, codes: result.findings.map((f) => f.code) };
}
const withRecords = (...records: Array<string | string[]>) =>
  run({ '_smtp._tls.example.com': { TXT: records } });

describe(checkTlsRpt.name, () => {
  it('should accept the RFC 8460 §3 examples', async () => {
    for (const record of [
      'v=TLSRPTv1;rua=mailto:reports@example.com',
      'v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt',
    ]) {
      const { result, codes } = await withRecords(record);
      expect(codes, record).toEqual([]);
      expect(result.facts).toMatchObject({ name: '_smtp._tls.example.com', record, valid: true });
    }
  });

  it('should read several URIs, spaces after commas, split strings and extensions', async () => {
    const { result, codes } = await withRecords([
      'v=TLSRPTv1; rua=mailto:a@example.com,',
      ' https://r.example.net/t; x-ext=1;',
    ]);
    expect(codes).toEqual([]);
    expect(result.facts.rua.map((u) => [u.scheme, u.host])).toEqual([
      ['mailto', 'example.com'],
      ['https', 'r.example.net'],
    ]);
    expect(result.facts.extensions).toEqual({ 'x-ext': '1' });
  });

  it('should throw for a name that is not a domain (a caller bug)', async () => {
    await expect(checkTlsRpt('a..b', { resolver: createZoneResolver({}) })).rejects.toThrow(RangeError);
  });

  describe('tls_rpt.missing', () => {
    it('should appear without a record, or with only other TXT records', async () => {
      expect((await run({})).codes).toEqual(['tls_rpt.missing']);
      expect((await withRecords('v=spf1 -all')).codes).toEqual(['tls_rpt.missing']);
    });
    it('should be absent with a record', async () => {
      expect((await withRecords('v=TLSRPTv1; rua=mailto:r@example.com')).codes).not.toContain(
        'tls_rpt.missing',
      );
    });
  });

  describe('tls_rpt.multiple_records', () => {
    it('should appear for two v=TLSRPTv1 records', async () => {
      const { result, codes } = await withRecords(
        'v=TLSRPTv1; rua=mailto:a@example.com',
        'v=TLSRPTv1; rua=mailto:b@example.com',
      );
      expect(codes).toEqual(['tls_rpt.multiple_records']);
      expect(result.facts.valid).toBe(false);
    });
    it('should be absent when the other record is not TLS-RPT', async () => {
      expect((await withRecords('v=TLSRPTv1; rua=mailto:a@example.com', 'hello')).codes).toEqual([]);
    });
  });

  describe('tls_rpt.syntax_error', () => {
    it.each([
      ['v=tlsrptv1; rua=mailto:a@example.com', 'does not start'],
      ['v=TLSRPTv1', 'rua field is required'],
      ['v=TLSRPTv1; rua = mailto:a@example.com', 'not name=value'],
      ['v=TLSRPTv1; RUA=mailto:a@example.com', 'rua field is required'],
      ['v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com', 'more than once'],
      ['v=TLSRPTv1;; rua=mailto:a@example.com', 'empty field'],
      ['v=TLSRPTv1; rua=mailto:a@example.com; ext=a b', 'invalid value'],
    ])('should report %s', async (record, message) => {
      const { result, codes } = await withRecords(record);
      expect(codes).toContain('tls_rpt.syntax_error');
      expect(result.findings.find((f) => f.code === 'tls_rpt.syntax_error')?.message).toContain(message);
      expect(result.facts.valid).toBe(false);
    });
    it('should accept WSP around ";" and a trailing ";"', async () => {
      expect((await withRecords('v=TLSRPTv1 ;  rua=mailto:a@example.com ;')).codes).toEqual([]);
    });
  });

  describe('tls_rpt.invalid_rua', () => {
    it.each([
      'v=TLSRPTv1; rua=reports@example.com',
      'v=TLSRPTv1; rua=http://example.com/report',
      'v=TLSRPTv1; rua=mailto:nobody',
      'v=TLSRPTv1; rua=https://',
      'v=TLSRPTv1; rua=',
    ])('should report %s', async (record) => {
      expect((await withRecords(record)).codes).toEqual(['tls_rpt.invalid_rua']);
    });
  });

  describe('tls_rpt.lookup_unknown', () => {
    it('should make the status unknown with no verdict', async () => {
      const { result, codes } = await run({ '_smtp._tls.example.com': { unknown: 'timeout' } });
      expect(result.status).toBe('unknown');
      expect(codes).toEqual(['tls_rpt.lookup_unknown']);
    });
    it('should be absent when the lookup is answered', async () => {
      expect((await run({})).result.status).toBe('findings');
    });
  });

  describe('hostile input', () => {
    it('should cap findings for a record with thousands of bad URIs and fields', async () => {
      const rua = Array.from({ length: 5000 }, (_, i) => `bad${i}`).join(',');
      const fields = Array.from({ length: 5000 }, () => 'x y').join(';');
      const { result } = await withRecords(`v=TLSRPTv1; rua=${rua}; ${fields}`);
      expect(result.findings.filter((f) => f.code === 'tls_rpt.invalid_rua')).toHaveLength(10);
      expect(result.findings.filter((f) => f.code === 'tls_rpt.syntax_error')).toHaveLength(10);
      expect(JSON.stringify(result).length).toBeLessThan(50_000);
    });
  });
});

describe('parseTlsRptRecord', () => {
  it('should recognise the version case-sensitively', () => {
    expect(isTlsRptRecord('v=TLSRPTv1; rua=mailto:a@example.com')).toBe(true);
    expect(isTlsRptRecord('v=TLSRPTv1')).toBe(true);
    expect(isTlsRptRecord('V=TLSRPTv1; rua=mailto:a@example.com')).toBe(false);
    expect(isTlsRptRecord('v=TLSRPTv10; rua=mailto:a@example.com')).toBe(false);
  });

  it('should keep the problem of each URI', () => {
    const record = parseTlsRptRecord('v=TLSRPTv1; rua=mailto:a@example.com,ftp://x.example');
    expect(record.rua.map((u) => u.problem)).toEqual([null, expect.stringContaining('ftp')]);
  });
});
