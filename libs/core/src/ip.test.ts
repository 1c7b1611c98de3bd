import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  formatIp,
  type IpAddress,
  isIPv4Mapped,
  parseIPv4,
  parseIPv6,
  parseIp,
  reverseName,
  sameAddress,
  unmapIPv4,
} from './ip.ts';

function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`test address ${text} does not parse`);
  return parsed;
}

describe('parseIPv4', () => {
  it('should parse dotted quads', () => {
    expect(Array.from(parseIPv4('192.0.2.255') ?? [])).toEqual([192, 0, 2, 255]);
    expect(Array.from(parseIPv4('0.0.0.0') ?? [])).toEqual([0, 0, 0, 0]);
  });

  it('should refuse leading zeros, short forms, ports and out-of-range octets', () => {
    for (const bad of [
      '01.2.3.4',
      '1.2.3',
      '1.2.3.4:25',
      '256.1.1.1',
      '1.2.3.4.',
      ' 1.2.3.4',
      '1.2.3.4/32',
      '',
    ]) {
      expect(parseIPv4(bad), bad).toBeUndefined();
    }
  });
});

describe('parseIPv6', () => {
  it('should parse the RFC 4291 §2.2 forms', () => {
    expect(formatIp(ip('2001:DB8:0:0:0:0:0:1'))).toBe('2001:db8::1');
    expect(formatIp(ip('::'))).toBe('::');
    expect(formatIp(ip('::1'))).toBe('::1');
    expect(formatIp(ip('fe80::'))).toBe('fe80::');
    expect(formatIp(ip('CAFE:BABE::192.168.218.40'))).toBe('cafe:babe::c0a8:da28');
  });

  it('should refuse malformed text', () => {
    for (const bad of [
      ':CAFE::BABE',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'g::1',
      '1:2:3:4:5:6:7',
      'fe80::1%eth0',
    ]) {
      expect(parseIPv6(bad), bad).toBeUndefined();
    }
  });

  it('should refuse an IPv4 tail that is not last or not strict', () => {
    expect(parseIPv6('::1.2.3.4:1')).toBeUndefined();
    expect(parseIPv6('::01.2.3.4')).toBeUndefined();
  });
});

describe('formatIp', () => {
  it('should compress the longest zero run and leave a single zero group alone (RFC 5952 §4.2)', () => {
    expect(formatIp(ip('2001:db8:0:1:1:1:1:1'))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIp(ip('2001:0:0:1:0:0:0:1'))).toBe('2001:0:0:1::1');
    expect(formatIp(ip('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
  });

  it('should print IPv4-mapped addresses with a dotted tail (RFC 5952 §5)', () => {
    expect(formatIp(ip('::FFFF:1.2.3.4'))).toBe('::ffff:1.2.3.4');
  });
});

describe('IPv4-mapped addresses', () => {
  it('should unmap ::ffff:a.b.c.d to IPv4 and leave others alone', () => {
    expect(isIPv4Mapped(ip('::ffff:1.2.3.4'))).toBe(true);
    expect(formatIp(unmapIPv4(ip('::ffff:1.2.3.4')))).toBe('1.2.3.4');
    expect(isIPv4Mapped(ip('::1.2.3.4'))).toBe(false);
    expect(unmapIPv4(ip('2001:db8::1')).family).toBe(6);
  });
});

describe('cidrContains', () => {
  it('should match on the prefix only', () => {
    expect(cidrContains(ip('192.0.2.0'), 24, ip('192.0.2.200'))).toBe(true);
    expect(cidrContains(ip('192.0.2.0'), 25, ip('192.0.2.200'))).toBe(false);
    expect(cidrContains(ip('192.0.2.128'), 25, ip('192.0.2.200'))).toBe(true);
    expect(cidrContains(ip('1.1.1.1'), 0, ip('203.0.113.9'))).toBe(true);
    expect(cidrContains(ip('cafe:babe:8000::'), 33, ip('cafe:babe:8000::1'))).toBe(true);
    expect(cidrContains(ip('cafe:babe:8000::'), 33, ip('cafe:babe::1'))).toBe(false);
  });

  it('should never match across families or with an impossible prefix', () => {
    expect(cidrContains(ip('::'), 0, ip('1.2.3.4'))).toBe(false);
    expect(cidrContains(ip('0.0.0.0'), 0, ip('::1'))).toBe(false);
    expect(cidrContains(ip('1.2.3.4'), 33, ip('1.2.3.4'))).toBe(false);
  });

  it('should compare whole addresses with sameAddress', () => {
    expect(sameAddress(ip('2001:db8::1'), ip('2001:DB8:0::1'))).toBe(true);
    expect(sameAddress(ip('2001:db8::1'), ip('2001:db8::2'))).toBe(false);
  });
});

describe('reverseName', () => {
  it('should build in-addr.arpa and ip6.arpa names', () => {
    expect(reverseName(ip('192.0.2.4'))).toBe('4.2.0.192.in-addr.arpa');
    expect(reverseName(ip('2001:db8::cb01'))).toBe(
      '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    );
  });
});
