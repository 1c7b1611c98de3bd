import { describe, expect, it } from 'vitest';
import { decodeTxtString, keyTag, txtStrings } from './rdata.ts';

describe('RDATA helpers', () => {
  it('computes the key tag of the RFC 4034 §5.4 example DNSKEY (60485)', () => {
    const key = Buffer.from(
      'AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvx' +
        'egXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==',
      'base64',
    );
    const rdata = Buffer.concat([Buffer.from([0x01, 0x00, 3, 5]), key]); // flags 256, protocol 3, RSASHA1
    expect(keyTag(rdata)).toBe(60485);
  });

  it('decodes TXT strings as UTF-8 when valid, else byte for byte as latin1', () => {
    expect(decodeTxtString(Buffer.from('v=spf1 ‑all', 'utf8'))).toBe('v=spf1 ‑all');
    const bytes = Buffer.from([0x76, 0x3d, 0xff, 0xfe]);
    const text = decodeTxtString(bytes);
    expect(text).toBe('v=\u00ff\u00fe');
    expect(Buffer.from(text, 'latin1')).toEqual(bytes);
  });

  it('splits TXT RDATA into its character-strings and rejects a string running past the end', () => {
    expect(txtStrings(Buffer.from([2, 0x61, 0x62, 0, 1, 0x63]))).toEqual(['ab', '', 'c']);
    expect(() => txtStrings(Buffer.from([5, 0x61]))).toThrow(/malformed/);
  });
});
