import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusPath } from '@mailwarden/testing/corpus';
import { describe, expect, it } from 'vitest';
import { isValidMxPattern, mxMatches, parsePolicy } from './policy.ts';
import { isStsCandidate, parseStsRecord } from './record.ts';

const CORPUS = corpusPath('mta-sts', 'real-world-policies');

describe('parseStsRecord (RFC 8461 §3.1)', () => {
  it.each([
    ['v=STSv1; id=20160831085700Z;', '20160831085700Z'],
    ['v=STSv1;id=abc', 'abc'],
    ['v=STSv1 ; id=abc ;', 'abc'],
    ['v=STSv1;\tid=abc; ext=val', 'abc'],
    ['v=STSv1; id=abc; ', 'abc'],
    [`v=STSv1; id=${'a'.repeat(32)}`, 'a'.repeat(32)],
  ])('%j has id %s', (text, id) => {
    const r = parseStsRecord(text);
    expect(r.ok && r.id).toBe(id);
  });

  it.each([
    ['id=20180907T090909; v=STSv1;', 'does not begin'],
    ['v=STSv12;id=20180907T090909;', 'does not begin'],
    ['azazaza;asdasdasdasd', 'does not begin'],
    [' v=STSv1; id=abc', 'does not begin'],
    ['V=STSv1; id=abc', 'does not begin'],
    ['v=STSv1', 'no id'],
    ['v=STSv1;', 'no id'],
    ['v=STSv1; id=', '1-32'],
    [`v=STSv1; id=${'a'.repeat(33)}`, '1-32'],
    ['v=STSv1; id=2016-08-31', '1-32'],
    ['v=STSv1; ID=abc', 'missing'],
    ['v=STSv1;; id=abc', 'empty field'],
    ['v=STSv1; id abc', 'not name=value'],
    ['v=STSv1; id=abc; x=a;b', 'not name=value'],
    ['v=STSv1; id=abc; _x=1', 'not valid'],
    ['v=STSv1; id=abc; x=a b', 'invalid characters'],
  ])('%j is refused (%s)', (text, why) => {
    const r = parseStsRecord(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain(why);
  });

  it('keeps the first of repeated fields and says so', () => {
    expect(parseStsRecord('v=STSv1; id=one; id=two; v=STSv1')).toEqual({
      ok: true,
      id: 'one',
      extensions: {},
      duplicates: ['id', 'v'],
    });
    expect(parseStsRecord('v=STSv1; id=a; constructor=x')).toMatchObject({
      ok: true,
      duplicates: [],
      extensions: { constructor: 'x' },
    });
  });

  it('selects candidates as §3.1 says: only records beginning with v=STSv1;', () => {
    expect(
      ['v=STSv1; id=a', 'v=STSv1 ;id=a', 'v=STSv1', 'v=STSv12; id=a', 'v=spf1 -all'].map(isStsCandidate),
    ).toEqual([true, true, true, false, false]);
  });
});

describe('parsePolicy (RFC 8461 §3.2)', () => {
  const good = 'version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n';

  it('parses LF and CRLF policies, with or without a final line end', () => {
    for (const text of [good, good.replace(/\n/g, '\r\n'), good.trimEnd()]) {
      expect(parsePolicy(text)).toEqual({
        ok: true,
        policy: {
          version: 'STSv1',
          mode: 'enforce',
          mx: ['mail.example.com', '*.example.net'],
          maxAge: 604800,
          extensions: {},
          duplicates: [],
        },
      });
    }
  });

  it('ignores unknown fields and keeps the first of repeated ones', () => {
    const r = parsePolicy(`${good}comment: hello world\nmode: none\nmax_age: 1\n`);
    expect(r).toMatchObject({
      ok: true,
      policy: {
        mode: 'enforce',
        maxAge: 604800,
        extensions: { comment: 'hello world' },
        duplicates: ['mode', 'max_age'],
      },
    });
  });

  it('accepts mode none without mx', () => {
    expect(parsePolicy('version: STSv1\nmode: none\nmax_age: 86400')).toMatchObject({
      ok: true,
      policy: { mode: 'none', mx: [] },
    });
  });

  it.each([
    ['garbage', 'not a "key: value"'],
    ['version: STSv1\nmode: enforce\nmax_age: 86400', 'no mx'],
    ['version: STSv1\nmx: mail.loc\nmax_age: 86400', 'mode is missing'],
    ['version: STSv1\nmode: doubt\nmx: mail.loc\nmax_age: 86400', 'mode "doubt"'],
    ['version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: xxx', 'max_age "xxx"'],
    ['version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 12345678901', 'max_age'],
    ['version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: -1', 'max_age'],
    ['version: STSv2\nmode: enforce\nmx: mail.loc\nmax_age: 1', 'version "STSv2"'],
    ['Version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 1', 'version is missing'],
    ['mode: enforce\nmx: mail.loc\nmax_age: 1', 'version is missing'],
    ['version: STSv1\nmode: enforce\nmx: mail.*.example.com\nmax_age: 1', 'mx "mail.*.example.com"'],
    ['version: STSv1\nmode: enforce\nmx: *\nmax_age: 1', 'mx "*"'],
    ['version: STSv1\nmode: enforce\nmx: mail.example.com.\nmax_age: 1', 'mx "mail.example.com."'],
    ['version: STSv1\rmode: enforce\nmx: a.example\nmax_age: 1', 'bare CR'],
    ['version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n\u0000', 'control'],
  ])('%j is invalid (%s)', (text, why) => {
    const r = parsePolicy(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.join(' | ')).toContain(why);
  });

  it('parses max_age above the RFC maximum (the check reports it)', () => {
    expect(parsePolicy('version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 31557601')).toMatchObject({
      ok: true,
      policy: { maxAge: 31557601 },
    });
  });
});

describe('MX patterns (RFC 8461 §4.1)', () => {
  it.each([
    ['mail.example.com', 'mail.example.com', true],
    ['MAIL.Example.COM.', 'mail.example.com', true],
    ['mail.example.com', 'MAIL.EXAMPLE.COM', true],
    ['mx1.example.net', '*.example.net', true],
    ['example.net', '*.example.net', false],
    ['a.b.example.net', '*.example.net', false],
    ['xexample.net', '*.example.net', false],
    ['mail.example.com', 'example.com', false],
  ])('%s vs %s -> %s', (host, pattern, want) => {
    expect(mxMatches(host, pattern)).toBe(want);
  });

  it('allows a wildcard only as the whole leftmost label', () => {
    expect(['*.example.com', 'mail.example.com', 'c365-biz.p-v1.mx.microsoft'].every(isValidMxPattern)).toBe(
      true,
    );
    expect(
      ['*example.com', 'a.*.example.com', '*.*.example.com', '-a.example', 'a_b.example', ''].some(
        isValidMxPattern,
      ),
    ).toBe(false);
  });
});

describe('real-world policies (../shared/corpus/mta-sts/real-world-policies)', () => {
  const expected: Record<string, { mode: string; maxAge: number; mx: number } | 'invalid'> = {
    '301guru.mta-sts.txt': { mode: 'none', maxAge: 600, mx: 2 },
    '365techies.mta-sts.txt': { mode: 'testing', maxAge: 604800, mx: 3 },
    'adisa.org.uk.mta-sts.txt': { mode: 'enforce', maxAge: 1209600, mx: 1 },
    'ajax910-uppercase-mx.mta-sts.txt': { mode: 'testing', maxAge: 31557600, mx: 5 },
    'as213151.net.mta-sts.txt': { mode: 'enforce', maxAge: 604800, mx: 6 },
    'azbillingny-trailing-space.mta-sts.txt': { mode: 'enforce', maxAge: 86400, mx: 1 },
    'beyondparanoid.com.mta-sts.txt': { mode: 'enforce', maxAge: 1209600, mx: 6 },
    'carranza.pw.mta-sts.txt': { mode: 'testing', maxAge: 604800, mx: 5 },
    'naturesi-not-a-policy.mta-sts.txt': 'invalid',
    'saludrgv.com.mta-sts.txt': { mode: 'testing', maxAge: 604800, mx: 1 },
    'sbcountyatc.gov.mta-sts.txt': { mode: 'enforce', maxAge: 604800, mx: 1 },
  };

  it('covers every file of the corpus', () => {
    expect(readdirSync(CORPUS).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))('%s', (file, want) => {
    const r = parsePolicy(readFileSync(join(CORPUS, file), 'utf8'));
    if (want === 'invalid') {
      expect(r.ok).toBe(false);
      return;
    }
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect({ mode: r.policy.mode, maxAge: r.policy.maxAge, mx: r.policy.mx.length }).toEqual(want);
    expect(r.policy.mx.every((p) => p === p.toLowerCase())).toBe(true);
  });
});
