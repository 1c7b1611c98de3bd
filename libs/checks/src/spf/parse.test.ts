import { formatIp } from '@mailwarden/core';
import { describe, expect, it } from 'vitest';
import { type Mechanism, type Modifier, parseSpfRecord } from './parse.ts';
import { isSpfRecord, selectSpfRecord } from './record.ts';

function mechanisms(record: string): Mechanism[] {
  const parsed = parseSpfRecord(record);
  expect(parsed.errors).toEqual([]);
  return parsed.mechanisms;
}

function firstError(record: string) {
  const parsed = parseSpfRecord(record);
  expect(parsed.errors.length, `expected an error in ${record}`).toBeGreaterThan(0);
  return parsed.errors[0];
}

describe('selectSpfRecord', () => {
  it('should accept "v=spf1" followed by a space or the end, in any case', () => {
    expect(isSpfRecord('v=spf1')).toBe(true);
    expect(isSpfRecord('V=SpF1 -all')).toBe(true);
    expect(isSpfRecord('v=spf10')).toBe(false);
    expect(isSpfRecord('v=spf1-all')).toBe(false);
    expect(isSpfRecord(' v=spf1 -all')).toBe(false);
  });

  it('should join character-strings without separators (RFC 7208 §3.3)', () => {
    expect(selectSpfRecord([['v=spf1 ip4:', '192.0.2.5 -all']])).toEqual({
      kind: 'single',
      text: 'v=spf1 ip4:192.0.2.5 -all',
      strings: ['v=spf1 ip4:', '192.0.2.5 -all'],
    });
    expect(selectSpfRecord([['v=spf1', 'mx']])).toEqual({ kind: 'none' });
  });

  it('should ignore other TXT records and report several SPF records', () => {
    expect(selectSpfRecord([['google-site-verification=x'], ['v=spf1 -all']]).kind).toBe('single');
    expect(selectSpfRecord([['v=spf1 -all'], ['v=spf1 +all']])).toEqual({
      kind: 'multiple',
      texts: ['v=spf1 -all', 'v=spf1 +all'],
    });
    expect(selectSpfRecord([[], ['hello']])).toEqual({ kind: 'none' });
  });
});

describe('parseSpfRecord', () => {
  it('should parse every mechanism with its qualifier', () => {
    const parsed = mechanisms(
      'v=spf1 +all -include:_spf.example.com ~a ?mx ptr ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{i}.x.example.com',
    );
    expect(parsed.map((m) => [m.qualifier, m.name, m.explicitQualifier])).toEqual([
      ['+', 'all', true],
      ['-', 'include', true],
      ['~', 'a', true],
      ['?', 'mx', true],
      ['+', 'ptr', false],
      ['+', 'ip4', false],
      ['+', 'ip6', false],
      ['+', 'exists', false],
    ]);
    expect(parsed[1]?.domainSpec?.text).toBe('_spf.example.com');
    expect(parsed[5]?.ip4Prefix).toBe(24);
    expect(formatIp(parsed[6]?.network as never)).toBe('2001:db8::');
    expect(parsed[6]?.ip6Prefix).toBe(32);
    expect(parsed[7]?.domainSpec?.hasMacros).toBe(true);
  });

  it('should record term positions in the record', () => {
    const parsed = parseSpfRecord('v=spf1  a   -all');
    expect(parsed.terms.map((term) => [term.text, term.position])).toEqual([
      ['a', 8],
      ['-all', 12],
    ]);
  });

  it('should parse dual CIDR lengths of a and mx (RFC 7208 §5.3)', () => {
    const [a, mx, bare, six] = mechanisms('v=spf1 a/24//64 mx:example.com/30 a mx//0');
    expect([a?.ip4Prefix, a?.ip6Prefix, a?.domainSpec]).toEqual([24, 64, undefined]);
    expect([mx?.ip4Prefix, mx?.ip6Prefix, mx?.domainSpec?.text]).toEqual([30, undefined, 'example.com']);
    expect([bare?.ip4Prefix, bare?.ip6Prefix]).toEqual([undefined, undefined]);
    expect([six?.ip4Prefix, six?.ip6Prefix]).toEqual([undefined, 0]);
  });

  it('should accept any visible character in a domain-spec before the top label', () => {
    expect(mechanisms('v=spf1 a:foo:bar/baz.example.com')[0]?.domainSpec?.text).toBe(
      'foo:bar/baz.example.com',
    );
    expect(mechanisms('v=spf1 a:foo.example.xn--zckzah')[0]?.domainSpec?.text).toBe('foo.example.xn--zckzah');
    expect(mechanisms('v=spf1 include:o.spf.example.com.')[0]?.domainSpec?.text).toBe('o.spf.example.com.');
  });

  it('should parse modifiers, case-insensitively, and keep unknown ones', () => {
    const parsed = parseSpfRecord(
      'v=spf1 REDIRECT=_spf.example.com Exp=explain.%{d} moo.cow-far_out=man:dog/cat',
    );
    expect(parsed.errors).toEqual([]);
    expect(parsed.redirect?.domainSpec?.text).toBe('_spf.example.com');
    expect(parsed.exp?.domainSpec?.hasMacros).toBe(true);
    expect((parsed.terms[2] as Modifier).name).toBe('moo.cow-far_out');
  });

  it('should accept an empty record and trailing spaces', () => {
    expect(parseSpfRecord('v=spf1').terms).toEqual([]);
    expect(parseSpfRecord('v=spf1 -all  ').errors).toEqual([]);
  });

  it.each([
    ['v=spf1 -all moo', 'unknown mechanism "moo"', 12],
    ['v=spf1 -all.', 'unknown mechanism "all."', 8],
    ['v=spf1 -all:foobar', '"all" takes no argument', 11],
    ['v=spf1 -all/8', '"all" takes no argument', 11],
    ['v=spf1 ptr/0 -all', '"ptr" takes only', 10],
    ['v=spf1 include', 'needs ":"', 14],
    ['v=spf1 include: -all', 'empty domain-spec', 15],
    ['v=spf1 include:ip5.example.com/24', 'invalid top label "com/24"', 27],
    ['v=spf1 exists', 'needs ":"', 13],
    ['v=spf1 a:', 'empty domain-spec', 9],
    ['v=spf1 a:111.222.33.44', 'invalid top label "44"', 20],
    ['v=spf1 a:abc.123', 'invalid top label "123"', 13],
    ['v=spf1 a:museum', 'must end in "." toplabel', 9],
    ['v=spf1 a:museum.', 'must end in "." toplabel', 9],
    ['v=spf1 a:example.-com', 'invalid top label "-com"', 17],
    ['v=spf1 a:example.com:8080', 'invalid top label "com:8080"', 17],
    ['v=spf1 a/33 -all', 'CIDR length 33 is more than 32', 8],
    ['v=spf1 a//129 -all', 'CIDR length 129 is more than 128', 8],
    ['v=spf1 a/24/64 -all', 'invalid argument "/24/64"', 8],
    ['v=spf1 ip4:1.2.3.4/032', 'invalid CIDR length', 18],
    ['v=spf1 ip4', 'needs ":"', 10],
    ['v=spf1 ip4:1.2.3', 'invalid ip4 network "1.2.3"', 11],
    ['v=spf1 ip4:1.2.3.4:8080', 'invalid ip4 network', 11],
    ['v=spf1 ip4:1.2.3.4//32', 'invalid CIDR length', 18],
    ['v=spf1 ip6::CAFE::BABE', 'invalid ip6 network', 11],
    ['v=spf1 ip6:::1.1.1.1//33', 'invalid CIDR length', 20],
    ['v=spf1 1up=foo', 'invalid modifier name', 7],
    ['v=spf1 =all', 'invalid modifier name', 7],
    ['v=spf1 redirect:example.com', 'unknown mechanism "redirect"', 7],
    ['v=spf1 redirect=', 'empty domain-spec', 16],
    ['v=spf1 exp=-all', 'must end in "." toplabel', 11],
    ['v=spf1 -all foo=%abc', '"%" must be followed by', 16],
    ['v=spf1 -all exp=%{r}.example.com', 'invalid macro letter "r"', 18],
    ['v=spf1 a:%{a}.example.com', 'invalid macro letter "a"', 11],
    ['v=spf1 exists:%(ir).sbl.example.com', '"%" must be followed by', 14],
    ['v=spf1 a:ctrl.example.com\rptr -all', 'character "\\r" not allowed', 25],
    ['v=spf1 a:\u00efgarbage.example.net -all', 'not allowed', 9],
    ['v=spf1 a:foo.example.com\u0000', 'not allowed', 24],
    ['v=spf1 redirect=a.example.com redirect=b.example.com', '"redirect" appears more than once', 30],
    ['v=spf1 exp=a.example.com -all exp=b.example.com', '"exp" appears more than once', 30],
    ['v=spf10', 'does not begin with "v=spf1"', 0],
  ])('should report %j as "%s" at offset %i', (record, message, position) => {
    const error = firstError(record);
    expect(error?.message).toContain(message);
    expect(error?.position).toBe(position);
  });

  it('should parse a 10 000-term record and keep a bounded list of errors', () => {
    const good = parseSpfRecord(
      `v=spf1 ${Array.from({ length: 10_000 }, (_, i) => `ip4:10.${i >> 8}.${i & 255}.0/24`).join(' ')} -all`,
    );
    expect(good.errors).toEqual([]);
    expect(good.mechanisms).toHaveLength(10_001);
    const bad = parseSpfRecord(`v=spf1 ${'bogus '.repeat(10_000)}`);
    expect(bad.errorCount).toBe(10_000);
    expect(bad.errors.length).toBeLessThanOrEqual(50);
  });
});
