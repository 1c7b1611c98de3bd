import { describe, expect, it } from 'vitest';
import { dsDigest } from './algorithms.ts';
import { nsec3Hash, proveNsecNxdomain } from './denial.ts';
import { formatTrustAnchor, IANA_ROOT_TRUST_ANCHORS, parseTrustAnchors } from './trust-anchors.ts';
import {
  base32hex,
  canonicalRdata,
  compareNames,
  keyTagOf,
  nameToWire,
  parseDnskey,
  serialCompare,
} from './wire.ts';

describe('canonical name order (RFC 4034 §6.1)', () => {
  it('should sort the RFC example names in the RFC order', () => {
    const expected = [
      'example',
      'a.example',
      'yljkjljk.a.example',
      'Z.a.example',
      'zABC.a.EXAMPLE',
      'z.example',
      '\x01.z.example',
      '*.z.example',
      '\x80.z.example',
    ];
    const shuffled = [...expected].reverse();
    expect(shuffled.sort(compareNames)).toEqual(expected);
  });
});

describe('canonicalRdata (RFC 4034 §6.2)', () => {
  it('should lower-case names inside MX but leave TXT alone', () => {
    const mx = Buffer.concat([Buffer.from([0, 10]), Buffer.from('\x02MX\x07Example\x00', 'latin1')]);
    expect(canonicalRdata(15, mx).toString('latin1')).toBe('\x00\x0a\x02mx\x07example\x00');
    const txt = Buffer.from('\x03ABC', 'latin1');
    expect(canonicalRdata(16, txt).equals(txt)).toBe(true);
  });
});

describe('nsec3Hash (RFC 5155 Appendix A)', () => {
  it('should hash the RFC example names with salt aabbccdd and 12 iterations', () => {
    const salt = Buffer.from('aabbccdd', 'hex');
    expect(base32hex(nsec3Hash('example', salt, 12))).toBe('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom');
    expect(base32hex(nsec3Hash('a.example', salt, 12))).toBe('35mthgpgcu1qg68fab165klnsnk3dpvl');
  });
});

describe('key tag and DS digest (RFC 4034 §5.4 example)', () => {
  it('should compute key tag 60485 and the SHA-1 DS digest of the RFC example key', () => {
    const key = Buffer.from(
      'AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==',
      'base64',
    );
    const rdata = Buffer.concat([Buffer.from([1, 0, 3, 5]), key]);
    expect(keyTagOf(rdata)).toBe(60485);
    expect(parseDnskey(rdata)?.keyTag).toBe(60485);
    expect(dsDigest(1, nameToWire('dskey.example.com'), rdata)?.toString('hex')).toBe(
      '2bb183af5f22588179a53b0a98631fad1a292118',
    );
  });
});

describe('serialCompare (RFC 1982)', () => {
  it('should order times across the 32-bit wrap', () => {
    expect(serialCompare(5, 0xffff_fff0)).toBe(1);
    expect(serialCompare(0xffff_fff0, 5)).toBe(-1);
    expect(serialCompare(7, 7)).toBe(0);
  });
});

describe(parseTrustAnchors.name, () => {
  it('should read DS and multi-line DNSKEY anchors and report bad lines by number', () => {
    const text = [
      '; test anchors',
      '. 172800 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D',
      'example. IN DNSKEY 257 3 13 (',
      '   mdsswUyr3DPW132mOi8V9xESWE8jTo0d xCjjnopKl+GqJxpVXckHAeF+KkxLbxIL',
      '   fDLUT0rAK9iUzy1L53eKGQ== )',
      'bad. IN DS 1 2',
      'revoked. IN DNSKEY 385 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==',
      'relative IN DS 1 8 2 AA',
    ].join('\n');
    const { anchors, errors } = parseTrustAnchors(text);
    expect(anchors).toHaveLength(2);
    expect(anchors[0]).toMatchObject({ owner: '.', kind: 'DS', keyTag: 20326 });
    expect(anchors[1]).toMatchObject({ owner: 'example', kind: 'DNSKEY', algorithm: 13 });
    expect(errors.map((e) => e.line)).toEqual([6, 8]);
  });

  it('should round-trip the built-in IANA root anchors', () => {
    const text = IANA_ROOT_TRUST_ANCHORS.map(formatTrustAnchor).join('\n');
    expect(parseTrustAnchors(text).anchors).toEqual(IANA_ROOT_TRUST_ANCHORS);
    expect(IANA_ROOT_TRUST_ANCHORS.map((a) => a.keyTag)).toEqual([20326, 38696]);
  });

  it('should refuse an oversized file', () => {
    expect(parseTrustAnchors(' '.repeat(300_000)).errors[0]?.message).toMatch(/larger/);
  });
});

describe(proveNsecNxdomain.name, () => {
  const parsed = (owner: string, next: string, types: number[]) => ({
    owner,
    nsec: { nextName: next, types: new Set(types) },
  });

  it('should need both the name and the wildcard denied', () => {
    const chain = [
      parsed('example', 'a.example', [6, 2, 46, 47]),
      parsed('a.example', 'z.example', [1, 46, 47]),
    ];
    expect(proveNsecNxdomain(chain, 'b.example', 'example')).toMatchObject({
      kind: 'nxdomain',
      closestEncloser: 'example',
    });
    expect(proveNsecNxdomain([chain[1] as (typeof chain)[number]], 'b.example', 'example')).toMatchObject({
      kind: 'failed',
    });
  });

  it('should not let a delegation NSEC deny names below the cut (RFC 6840 §4.1)', () => {
    const cut = parsed('child.example', 'z.example', [2, 46, 47]);
    const apex = parsed('example', 'child.example', [6, 2, 46, 47]);
    expect(proveNsecNxdomain([apex, cut], 'www.child.example', 'example')).toMatchObject({ kind: 'failed' });
  });
});
