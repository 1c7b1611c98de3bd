import { describe, expect, it } from 'vitest';
import { parseAllowList, parseCidr } from './cidr.ts';
import { parseIpLiteral } from './ip.ts';
import { vetAddress } from './vet.ts';

const ip = (text: string) => {
  const p = parseIpLiteral(text);
  if (!p.ok) throw new Error(text);
  return p;
};
const allowOf = (text: string) => {
  const r = parseAllowList(text);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.allow;
};

describe('parseCidr', () => {
  it.each([
    ['127.0.0.0/8', '127.0.0.0/8'],
    ['::1/128', '::1/128'],
    ['::1', '::1/128'],
    ['10.1.2.3', '10.1.2.3/32'],
    [' 192.168.0.0/16 ', '192.168.0.0/16'],
    ['FD00::/8', 'fd00::/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
  ])('%j -> %s', (input, text) => {
    const r = parseCidr(input);
    expect(r.ok && r.cidr.text).toBe(text);
  });

  it.each([
    '127.0.0.1/8',
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/08',
    '10.0.0.0/',
    '10.0.0.0/-1',
    '0x7f.0.0.0/8',
    'example.com/8',
    'fe80::/10%eth0',
  ])('%j is refused', (input) => {
    expect(parseCidr(input).ok).toBe(false);
  });
});

describe('parseAllowList', () => {
  it('parses the documented form and reports every bad entry at once', () => {
    expect(allowOf('127.0.0.0/8,::1/128').map((c) => c.text)).toEqual(['127.0.0.0/8', '::1/128']);
    expect(allowOf('')).toEqual([]);
    expect(allowOf(' , ')).toEqual([]);
    const bad = parseAllowList('127.0.0.0/8, nope, 10.0.0.1/8');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors).toHaveLength(2);
  });
});

describe('vetAddress with an allow-list', () => {
  it('refuses non-public addresses when nothing is allowed, and accepts public ones', () => {
    expect(vetAddress(ip('127.0.0.1'), []).ok).toBe(false);
    expect(vetAddress(ip('8.8.8.8'), [])).toEqual({
      ok: true,
      vetted: { address: '8.8.8.8', family: 4, verdict: 'public' },
    });
  });

  it('opens exactly the allowed ranges', () => {
    const allow = allowOf('127.0.0.0/8,::1/128');
    expect(vetAddress(ip('127.0.0.9'), allow)).toEqual({
      ok: true,
      vetted: { address: '127.0.0.9', family: 4, verdict: 'loopback', allowedBy: '127.0.0.0/8' },
    });
    expect(vetAddress(ip('::1'), allow).ok).toBe(true);
    expect(vetAddress(ip('10.0.0.1'), allow).ok).toBe(false);
    expect(vetAddress(ip('::2'), allow).ok).toBe(false);
  });

  it('matches IPv4-mapped IPv6 as the IPv4 address, and dials the IPv4 address', () => {
    const r = vetAddress(ip('::ffff:127.0.0.5'), allowOf('127.0.0.0/8'));
    expect(r).toEqual({
      ok: true,
      vetted: { address: '127.0.0.5', family: 4, verdict: 'loopback', allowedBy: '127.0.0.0/8' },
    });
  });

  it('does not open NAT64 or 6to4 forms through an IPv4 entry', () => {
    const allow = allowOf('127.0.0.0/8');
    expect(vetAddress(ip('64:ff9b::7f00:1'), allow).ok).toBe(false);
    expect(vetAddress(ip('2002:7f00:1::'), allow).ok).toBe(false);
  });

  it('opens cloud metadata addresses only through an entry for that exact address', () => {
    expect(vetAddress(ip('169.254.169.254'), allowOf('169.254.0.0/16')).ok).toBe(false);
    expect(vetAddress(ip('169.254.1.1'), allowOf('169.254.0.0/16')).ok).toBe(true);
    expect(vetAddress(ip('169.254.169.254'), allowOf('169.254.169.254/32')).ok).toBe(true);
    expect(vetAddress(ip('100.100.100.200'), allowOf('100.64.0.0/10')).ok).toBe(false);
    expect(vetAddress(ip('fd00:ec2::254'), allowOf('fd00::/8')).ok).toBe(false);
    expect(vetAddress(ip('::ffff:169.254.169.254'), allowOf('169.254.0.0/16')).ok).toBe(false);
  });
});
