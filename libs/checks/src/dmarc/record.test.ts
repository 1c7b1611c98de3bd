import { describe, expect, it } from 'vitest';
import { appliedPolicies, isDmarcRecord, looksLikeIgnoredDmarc, parseDmarcRecord } from './record.ts';
import { parseReportUris } from './report-uri.ts';

describe('isDmarcRecord', () => {
  it('should accept v=DMARC1 first, with WSP around "=" and any case of the tag name', () => {
    for (const text of [
      'v=DMARC1; p=none',
      'v = DMARC1;p=none',
      ' V=DMARC1',
      'v=DMARC1',
      'v=DMARC1\t;p=reject',
    ]) {
      expect(isDmarcRecord(text), text).toBe(true);
    }
  });

  it('should reject a version that is not exactly DMARC1, or not first', () => {
    for (const text of [
      'v=dmarc1; p=none',
      'v=DMARC1x; p=none',
      'p=reject; v=DMARC1',
      'v=DMARC2',
      'v=spf1 -all',
      '',
    ]) {
      expect(isDmarcRecord(text), text).toBe(false);
    }
  });

  it('should recognise records meant as DMARC that receivers ignore', () => {
    expect(looksLikeIgnoredDmarc('v=dmarc1; p=reject')).toBe(true);
    expect(looksLikeIgnoredDmarc('p=reject; v=DMARC1')).toBe(true);
    expect(looksLikeIgnoredDmarc('v=DMARC1; p=reject')).toBe(false);
    expect(looksLikeIgnoredDmarc('google-site-verification=abc')).toBe(false);
  });
});

describe('parseDmarcRecord', () => {
  it('should parse every tag of a full record, values case-insensitively', () => {
    const record = parseDmarcRecord(
      'v=DMARC1; p=Reject; sp=QUARANTINE; np=reject; pct=100; rua=mailto:a@example.com, mailto:b@example.net!10m; ruf=mailto:f@example.com; adkim=S; aspf=r; fo=0:1:d:s; ri=86400; rf=afrf; psd=n; t=n',
    );
    expect(record).toMatchObject({
      p: 'reject',
      sp: 'quarantine',
      np: 'reject',
      pct: 100,
      adkim: 's',
      aspf: 'r',
      fo: ['0', '1', 'd', 's'],
      ri: 86400,
      rf: ['afrf'],
      psd: 'n',
      t: 'n',
      usability: 'valid',
    });
    expect(record.rua.map((u) => [u.uri, u.host, u.sizeLimit])).toEqual([
      ['mailto:a@example.com', 'example.com', null],
      ['mailto:b@example.net', 'example.net', '10m'],
    ]);
    expect(record.problems.filter((p) => p.kind === 'invalid' || p.kind === 'syntax')).toEqual([]);
  });

  it.each([
    ['p', 'block'],
    ['sp', 'bounce'],
    ['np', ''],
    ['pct', '101'],
    ['pct', '-1'],
    ['pct', 'half'],
    ['adkim', 'x'],
    ['aspf', 'strict'],
    ['fo', '2'],
    ['fo', '0:x'],
    ['ri', '99999999999'],
    ['rf', 'iodef'],
    ['psd', 'x'],
    ['t', 'maybe'],
  ])('should report %s=%s as an invalid value', (tag, value) => {
    const policy = tag === 'p' ? '' : 'p=reject; ';
    const record = parseDmarcRecord(`v=DMARC1; ${policy}${tag}=${value}; rua=mailto:d@example.com`);
    expect(record.problems).toContainEqual(expect.objectContaining({ kind: 'invalid', tag, value }));
  });

  it('should report a missing p tag', () => {
    const record = parseDmarcRecord('v=DMARC1; rua=mailto:d@example.com');
    expect(record.problems).toContainEqual(
      expect.objectContaining({ kind: 'invalid', tag: 'p', reason: 'the p tag is missing' }),
    );
  });

  it('should report duplicate tags and tag-specs without "="', () => {
    const record = parseDmarcRecord('v=DMARC1; p=reject; p=none; rua');
    expect(record.p).toBe('reject');
    const reasons = record.problems.filter((p) => p.kind === 'syntax').map((p) => p.reason);
    expect(reasons).toEqual(['not tag=value', expect.stringContaining('tag p appears more than once')]);
  });

  it('should report unknown tags and the tags RFC 9989 removed', () => {
    const record = parseDmarcRecord(
      'v=DMARC1; p=reject; rau=mailto:d@example.com; pct=100; ri=3600; rf=afrf',
    );
    expect(record.problems).toContainEqual({
      kind: 'unknown_tag',
      tag: 'rau',
      value: 'mailto:d@example.com',
    });
    const deprecated = record.problems.flatMap((p) => (p.kind === 'deprecated' ? [p.tag] : []));
    expect(deprecated.sort()).toEqual(['pct', 'rf', 'ri']);
  });

  it('should treat an invalid policy as p=none when rua is valid, and ignore the record otherwise', () => {
    expect(parseDmarcRecord('v=DMARC1; p=block; rua=mailto:d@example.com').usability).toBe('treated_as_none');
    expect(parseDmarcRecord('v=DMARC1; p=reject; sp=bounce; rua=mailto:d@example.com').usability).toBe(
      'treated_as_none',
    );
    expect(parseDmarcRecord('v=DMARC1; p=reject; np=x; rua=mailto:d@example.com').usability).toBe(
      'treated_as_none',
    );
    expect(parseDmarcRecord('v=DMARC1; adkim=s').usability).toBe('unusable');
    expect(parseDmarcRecord('v=DMARC1; p=block; rua=dmarc@example.com').usability).toBe('unusable');
    expect(appliedPolicies(parseDmarcRecord('v=DMARC1; p=block; rua=mailto:d@example.com'))).toEqual({
      p: 'none',
      sp: 'none',
      np: 'none',
    });
    expect(appliedPolicies(parseDmarcRecord('v=DMARC1; adkim=s'))).toBeNull();
  });

  it('should default sp to p and np to sp', () => {
    expect(appliedPolicies(parseDmarcRecord('v=DMARC1; p=reject'))).toEqual({
      p: 'reject',
      sp: 'reject',
      np: 'reject',
    });
    expect(appliedPolicies(parseDmarcRecord('v=DMARC1; p=reject; sp=quarantine'))).toEqual({
      p: 'reject',
      sp: 'quarantine',
      np: 'quarantine',
    });
  });

  it('should survive hostile records: huge, many tags, odd whitespace', () => {
    const many = `v=DMARC1; p=reject; ${Array.from({ length: 50_000 }, (_, i) => `x${i}=y`).join('; ')}`;
    const record = parseDmarcRecord(many);
    expect(record.p).toBe('reject');
    expect(record.problems.filter((p) => p.kind === 'unknown_tag')).toHaveLength(50_000);

    const huge = parseDmarcRecord(`v=DMARC1; p=${'a'.repeat(2_000_000)}`);
    expect(huge.usability).toBe('unusable');

    const folded = parseDmarcRecord('v=DMARC1;\r\n\tp = quarantine ;\r\n sp=reject;;;');
    expect(folded).toMatchObject({ p: 'quarantine', sp: 'reject', usability: 'valid' });
  });
});

describe('parseReportUris', () => {
  it('should split on commas with whitespace and read size limits', () => {
    const { uris, invalid } = parseReportUris('mailto:a@example.com , mailto:b@Example.NET!50k');
    expect(invalid).toEqual([]);
    expect(uris.map((u) => u.host)).toEqual(['example.com', 'example.net']);
    expect(uris[1]?.sizeLimit).toBe('50k');
  });

  it('should reject URIs without a scheme, mailto without an address and bad size limits', () => {
    const { uris, invalid } = parseReportUris('dmarc@example.com,mailto:nobody,mailto:a@example.com!10x,,');
    expect(uris).toEqual([]);
    expect(invalid.map((i) => i.reason)).toEqual([
      expect.stringContaining('scheme'),
      'mailto URI without a valid address',
      expect.stringContaining('size limit'),
      'empty URI in the list',
      'empty URI in the list',
    ]);
  });

  it('should flag schemes receivers do not send to', () => {
    const { uris, invalid } = parseReportUris('https://reports.example.com/dmarc');
    expect(uris[0]?.host).toBe('reports.example.com');
    expect(invalid[0]?.reason).toContain('mailto');
  });
});
