import { describe, expect, it } from 'vitest';
import {
  expandDomainSpec,
  expandMacros,
  type MacroContext,
  type MacroValues,
  parseMacroString,
  urlEscape,
} from './macro.ts';

/** The values of the RFC 7208 §7.4 examples. */
const IPV4: MacroValues = {
  s: 'strong-bad@email.example.com',
  l: 'strong-bad',
  o: 'email.example.com',
  d: 'email.example.com',
  i: '192.0.2.3',
  p: 'unknown',
  v: 'in-addr',
  h: 'mx.example.org',
  c: '192.0.2.3',
  r: 'receiver.example.net',
  t: '1700000000',
};
const IPV6: MacroValues = {
  ...IPV4,
  i: '2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1',
  v: 'ip6',
  c: '2001:db8::cb01',
};

function expand(text: string, values = IPV4, context: MacroContext = 'domain'): string {
  const parsed = parseMacroString(text, context);
  if (parsed.error) throw new Error(`${text}: ${parsed.error.message}`);
  return expandMacros(parsed.tokens, values);
}

describe('expandMacros', () => {
  it.each([
    ['%{s}', 'strong-bad@email.example.com'],
    ['%{o}', 'email.example.com'],
    ['%{d}', 'email.example.com'],
    ['%{d4}', 'email.example.com'],
    ['%{d3}', 'email.example.com'],
    ['%{d2}', 'example.com'],
    ['%{d1}', 'com'],
    ['%{dr}', 'com.example.email'],
    ['%{d2r}', 'example.email'],
    ['%{l}', 'strong-bad'],
    ['%{l-}', 'strong.bad'],
    ['%{lr}', 'strong-bad'],
    ['%{lr-}', 'bad.strong'],
    ['%{l1r-}', 'strong'],
    ['%{ir}.%{v}._spf.%{d2}', '3.2.0.192.in-addr._spf.example.com'],
    ['%{lr-}.lp._spf.%{d2}', 'bad.strong.lp._spf.example.com'],
    ['%{lr-}.lp.%{ir}.%{v}._spf.%{d2}', 'bad.strong.lp.3.2.0.192.in-addr._spf.example.com'],
    ['%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}', '3.2.0.192.in-addr.strong.lp._spf.example.com'],
    ['%{d2}.trusted-domains.example.net', 'example.com.trusted-domains.example.net'],
  ])('should expand %s as in RFC 7208 §7.4', (text, expected) => {
    expect(expand(text)).toBe(expected);
  });

  it('should expand the IPv6 example of RFC 7208 §7.4 with dot-separated nibbles', () => {
    expect(expand('%{ir}.%{v}._spf.%{d2}', IPV6)).toBe(
      '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com',
    );
  });

  it('should split on several delimiters and rejoin with dots (RFC 7208 §7.3)', () => {
    expect(expand('%{l2r+-}', { ...IPV4, l: 'foo-bar+zip+quux' })).toBe('bar.foo');
    expect(expand('%{l=/,_}', { ...IPV4, l: 'a=b/c,d_e' })).toBe('a.b.c.d.e');
  });

  it('should keep the whole value when the digit exceeds the parts', () => {
    expect(expand('%{d99}')).toBe('email.example.com');
    expect(expand('%{d99999999999999999999}')).toBe('email.example.com');
  });

  it('should URL-escape upper-case macros after transforming them', () => {
    expect(expand('%{L}', { ...IPV4, l: '~jack&jill=up-a_b3.c' })).toBe('~jack%26jill%3Dup-a_b3.c');
    expect(expand('%{H}', { ...IPV4, h: "JUMPIN' JUPITER" })).toBe('JUMPIN%27%20JUPITER');
    expect(urlEscape('é')).toBe('%C3%A9');
  });

  it('should expand %%, %_ and %-', () => {
    expect(expand('macro%%percent%_%_space%-url-space.example.com')).toBe(
      'macro%percent  space%20url-space.example.com',
    );
  });

  it('should allow c, r, t and spaces only in explanation text', () => {
    expect(expand('%{c} is queried as %{ir}.%{v}.arpa at %{t} by %{r}', IPV6, 'explanation')).toBe(
      '2001:db8::cb01 is queried as 1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa at 1700000000 by receiver.example.net',
    );
    for (const letter of ['c', 'r', 't']) {
      expect(parseMacroString(`%{${letter}}.example.com`, 'domain').error?.message).toContain(
        'allowed only in exp= text',
      );
    }
    expect(parseMacroString('a b', 'domain').error?.position).toBe(1);
  });
});

describe('parseMacroString', () => {
  it.each([
    ['%{d0}', 'must be nonzero', 3],
    ['%{x}', 'invalid macro letter "x"', 2],
    ['%{d', 'expected "}"', 3],
    ['%{', 'unterminated macro', 0],
    ['foo%', 'must be followed by', 3],
    ['%(ir)', 'must be followed by', 0],
    ['%{ir:}', 'expected "}"', 4],
    ['caf\u00e9.example.com', 'not allowed', 3],
  ])('should refuse %j: %s at %i', (text, message, position) => {
    const parsed = parseMacroString(text, 'explanation');
    expect(parsed.error?.message).toContain(message);
    expect(parsed.error?.position).toBe(position);
  });

  it('should add the offset to error positions', () => {
    expect(parseMacroString('%{x}', 'domain', 10).error?.position).toBe(12);
  });
});

describe('expandDomainSpec', () => {
  it('should drop a trailing dot and truncate from the left beyond 253 characters (RFC 7208 §7.3)', () => {
    const parsed = parseMacroString(`foobar.${'%{o}.'.repeat(8)}example.com.`, 'domain');
    if (parsed.error) throw new Error(parsed.error.message);
    const name = expandDomainSpec(parsed.tokens, { ...IPV4, o: 'somewhat.long.exp.example.com' });
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name.endsWith('.example.com')).toBe(true);
    expect(name.startsWith('somewhat.long.exp.example.com.somewhat')).toBe(true);
    expect(name.endsWith('.')).toBe(false);
  });
});
