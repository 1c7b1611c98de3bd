import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDnsServer, parseDnsServers, readSystemDnsServers } from './servers.ts';

describe('DNS_SERVERS parsing', () => {
  it('reads ip, ip:port, bare IPv6 and [ipv6]:port, in order', () => {
    expect(parseDnsServers('127.0.0.1:5353,[::1]:53,10.0.0.1, ::1 [2001:db8::1]')).toEqual([
      { host: '127.0.0.1', port: 5353 },
      { host: '::1', port: 53 },
      { host: '10.0.0.1', port: 53 },
      { host: '::1', port: 53 },
      { host: '2001:db8::1', port: 53 },
    ]);
    expect(parseDnsServers('')).toEqual([]);
  });

  it('names the bad entry: host names, bad ports, bad addresses', () => {
    expect(() => parseDnsServers('127.0.0.1,dns.google')).toThrow(/dns\.google/);
    expect(() => parseDnsServers('127.0.0.1:0')).toThrow(/port/);
    expect(() => parseDnsServers('127.0.0.1:70000')).toThrow(/port/);
    expect(() => parseDnsServers('[::1]:x')).toThrow(/port/);
    expect(() => parseDnsServers('[not-ip]:53')).toThrow(/IPv6/);
    expect(() => parseDnsServers('300.1.1.1')).toThrow();
  });

  it('formats back to the same notation', () => {
    expect(parseDnsServers('127.0.0.1:5353,[::1]:53').map(formatDnsServer)).toEqual([
      '127.0.0.1:5353',
      '[::1]:53',
    ]);
  });
});

describe('resolv.conf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-resolv-'));

  it('takes the nameserver lines in order, skipping comments, options and junk', () => {
    const path = join(dir, 'resolv.conf');
    writeFileSync(
      path,
      [
        '# generated',
        'search example.com',
        'nameserver 127.0.0.53 # local stub',
        '; nameserver 10.9.9.9',
        'nameserver   fe80::1%eth0',
        'nameserver not-an-ip',
        'options edns0 trust-ad',
        'nameserver ::1',
      ].join('\n'),
    );
    expect(readSystemDnsServers(path)).toEqual([
      { host: '127.0.0.53', port: 53 },
      { host: 'fe80::1%eth0', port: 53 },
      { host: '::1', port: 53 },
    ]);
  });

  it('gives an empty list for a missing file or one without nameservers', () => {
    expect(readSystemDnsServers(join(dir, 'absent'))).toEqual([]);
    const path = join(dir, 'empty.conf');
    writeFileSync(path, 'search example.com\n');
    expect(readSystemDnsServers(path)).toEqual([]);
  });
});
