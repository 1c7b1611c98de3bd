import { describe, expect, it } from 'vitest';
import { type AddressClass, classifyAddress, classifyAddressDetail } from './classify.ts';

const table = (rows: [string, AddressClass][]) => rows.map(([ip, want]) => ({ ip, want }));

describe('classifyAddress: IPv4', () => {
  it.each(
    table([
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'this_network'],
      ['0.255.255.255', 'this_network'],
      ['10.0.0.0', 'private'],
      ['10.255.255.255', 'private'],
      ['100.63.255.255', 'public'],
      ['100.64.0.0', 'cgnat'],
      ['100.127.255.255', 'cgnat'],
      ['100.128.0.0', 'public'],
      ['100.100.100.200', 'cloud_metadata'],
      ['126.255.255.255', 'public'],
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['128.0.0.0', 'public'],
      ['169.253.255.255', 'public'],
      ['169.254.0.1', 'link_local'],
      ['169.254.169.254', 'cloud_metadata'],
      ['169.254.170.2', 'cloud_metadata'],
      ['169.255.0.0', 'public'],
      ['172.15.255.255', 'public'],
      ['172.16.0.0', 'private'],
      ['172.31.255.255', 'private'],
      ['172.32.0.0', 'public'],
      ['192.0.0.8', 'ietf_protocol'],
      ['192.0.1.1', 'public'],
      ['192.0.2.1', 'documentation'],
      ['192.88.99.1', 'deprecated_6to4_relay'],
      ['192.167.255.255', 'public'],
      ['192.168.1.1', 'private'],
      ['192.169.0.0', 'public'],
      ['198.17.255.255', 'public'],
      ['198.18.0.1', 'benchmarking'],
      ['198.19.255.255', 'benchmarking'],
      ['198.20.0.0', 'public'],
      ['198.51.100.7', 'documentation'],
      ['203.0.113.9', 'documentation'],
      ['223.255.255.255', 'public'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.255', 'multicast'],
      ['240.0.0.1', 'reserved'],
      ['254.1.2.3', 'reserved'],
      ['255.255.255.254', 'reserved'],
      ['255.255.255.255', 'broadcast'],
      ['8.8.8.8', 'public'],
      ['1.1.1.1', 'public'],
      ['192.31.196.1', 'public'],
    ]),
  )('$ip -> $want', ({ ip, want }) => {
    expect(classifyAddress(ip)).toBe(want);
  });
});

describe('classifyAddress: IPv6', () => {
  it.each(
    table([
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['[::1]', 'loopback'],
      ['0:0:0:0:0:0:0:1', 'loopback'],
      ['::2', 'this_network'], // IPv4-compatible form of 0.0.0.2
      ['::ffff:127.0.0.1', 'loopback'],
      ['::FFFF:7f00:1', 'loopback'],
      ['[::ffff:7f00:1]', 'loopback'],
      ['::ffff:169.254.169.254', 'cloud_metadata'],
      ['::ffff:10.1.2.3', 'private'],
      ['::ffff:8.8.8.8', 'public'],
      ['::127.0.0.1', 'loopback'],
      ['::10.0.0.1', 'private'],
      ['::8.8.8.8', 'ipv4_compatible'],
      ['::ffff:0:127.0.0.1', 'reserved'],
      ['64:ff9b::127.0.0.1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'cloud_metadata'],
      ['64:ff9b::808:808', 'public'],
      ['64:ff9b:1::a00:1', 'private'],
      ['64:ff9b:1::808:808', 'nat64_local_use'],
      ['100::1', 'discard_only'],
      ['100:0:0:1::', 'reserved'],
      ['2001::1', 'teredo'],
      ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
      ['2001:2::1', 'benchmarking'],
      ['2001:10::1', 'orchid'],
      ['2001:20::1', 'orchid'],
      ['2001:4:112::1', 'ietf_protocol'],
      ['2001:200::1', 'public'],
      ['2001:db8::1', 'documentation'],
      ['2001:db8:ffff::1', 'documentation'],
      ['2002:7f00:1::', 'loopback'],
      ['2002:a9fe:a9fe::1', 'cloud_metadata'],
      ['2002:c0a8:101::1', 'private'],
      ['2002:808:808::1', 'public'],
      ['2606:4700:4700::1111', 'public'],
      ['2a00:1450:4001:80b::200e', 'public'],
      ['3fff::1', 'documentation'],
      ['3fff:fff:ffff::1', 'documentation'],
      ['3fff:1000::1', 'public'],
      ['4000::1', 'reserved'],
      ['5f00::1', 'srv6_sid'],
      ['fc00::1', 'unique_local'],
      ['fdff:ffff::1', 'unique_local'],
      ['fd00:ec2::254', 'cloud_metadata'],
      ['fe80::1', 'link_local'],
      ['febf::1', 'link_local'],
      ['fec0::1', 'site_local'],
      ['feff::1', 'site_local'],
      ['ff02::1', 'multicast'],
      ['ff05::2', 'multicast'],
      ['1fff:ffff::1', 'reserved'],
    ]),
  )('$ip -> $want', ({ ip, want }) => {
    expect(classifyAddress(ip)).toBe(want);
  });
});

describe('classifyAddress: text forms we refuse', () => {
  it.each([
    '0x7f.1',
    '0x7f000001',
    '017700000001',
    '2130706433',
    '127.1',
    '127.0.1',
    '127.000.000.001',
    '0177.0.0.1',
    '127.0.0.01',
    '127.0.0.1.',
    '256.0.0.1',
    '1.2.3.4.5',
    ' 127.0.0.1',
    'fe80::1%eth0',
    '[fe80::1%25eth0]',
    '::1%1',
    '[127.0.0.1]',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '::ffff:127.1',
    '::ffff:1.2.3.4.5',
    '1.2.3.4::',
    '12345::',
    ':1',
    '1:',
    'g::1',
    '',
    'localhost',
    'example.com',
  ])('%j is invalid', (text) => {
    expect(classifyAddress(text)).toBe('invalid');
  });
});

describe('classifyAddressDetail', () => {
  it('names the range and the embedded IPv4 address', () => {
    expect(classifyAddressDetail('64:ff9b::a9fe:a9fe')).toEqual({
      address: '64:ff9b::a9fe:a9fe',
      family: 6,
      verdict: 'cloud_metadata',
      reference: 'RFC 6052 §2.1',
      embedded: {
        via: 'nat64',
        address: '169.254.169.254',
        verdict: 'cloud_metadata',
        range: '169.254.169.254/32',
      },
    });
    expect(classifyAddressDetail('10.2.3.4')).toMatchObject({
      range: '10.0.0.0/8',
      reference: 'RFC 1918 §3',
    });
  });

  it('canonicalises the address text (RFC 5952)', () => {
    expect(classifyAddressDetail('2001:0DB8:0000:0000:0000:0000:0000:0001').address).toBe('2001:db8::1');
    // RFC 5952 §5: an IPv4-mapped address keeps its dotted quad.
    expect(classifyAddressDetail('[::FFFF:127.0.0.1]').address).toBe('::ffff:127.0.0.1');
    expect(classifyAddressDetail('2606:4700:0:0:1:0:0:1').address).toBe('2606:4700::1:0:0:1');
  });
});
