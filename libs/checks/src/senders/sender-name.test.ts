import { createZoneResolver } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { nameSender } from './sender-name.ts';
import { identifySender } from './sending-providers.ts';

const zone = createZoneResolver({
  // Amazon SES, confirmed forward.
  '10.2.0.192.in-addr.arpa': { PTR: ['A8-30.smtp-out.amazonses.com.'] },
  'a8-30.smtp-out.amazonses.com': { A: ['192.0.2.10'] },
  // Claims to be Google, does not point back.
  '66.2.0.192.in-addr.arpa': { PTR: ['mail-sor-f41.google.com.'] },
  'mail-sor-f41.google.com': { A: ['198.51.100.41'] },
  // Confirmed, but nobody we know.
  '20.2.0.192.in-addr.arpa': { PTR: ['mx.small-shop.example.'] },
  'mx.small-shop.example': { A: ['192.0.2.20'] },
  // Two PTR names, the second one confirms.
  '30.2.0.192.in-addr.arpa': { PTR: ['stale.example.', 'o1.sendgrid.net.'] },
  'o1.sendgrid.net': { A: ['192.0.2.30'] },
  // IPv6, Microsoft 365.
  '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa': {
    PTR: ['mail-dm6nam10on2089.outbound.protection.outlook.com.'],
  },
  'mail-dm6nam10on2089.outbound.protection.outlook.com': { AAAA: ['2001:db8::1'] },
  // DNS fails.
  '40.2.0.192.in-addr.arpa': { unknown: 'timeout' },
  '50.2.0.192.in-addr.arpa': { PTR: ['flaky.example.'] },
  'flaky.example': { unknown: 'servfail' },
});

describe('nameSender', () => {
  it('should name a forward-confirmed sender and its service', async () => {
    expect(await nameSender(zone, '192.0.2.10')).toEqual({
      ip: '192.0.2.10',
      outcome: 'named',
      ptr: 'a8-30.smtp-out.amazonses.com',
      forwardConfirmed: true,
      provider: { id: 'amazon_ses', name: 'Amazon SES' },
    });
    expect((await nameSender(zone, '192.0.2.30')).provider?.id).toBe('sendgrid');
    expect(await nameSender(zone, '2001:db8::1')).toMatchObject({
      forwardConfirmed: true,
      provider: { id: 'microsoft' },
    });
    expect(await nameSender(zone, '192.0.2.20')).toMatchObject({
      ptr: 'mx.small-shop.example',
      provider: null,
    });
  });

  it('should never name a provider from a PTR that does not point back', async () => {
    expect(await nameSender(zone, '192.0.2.66')).toEqual({
      ip: '192.0.2.66',
      outcome: 'named',
      ptr: 'mail-sor-f41.google.com',
      forwardConfirmed: false,
      provider: null,
    });
  });

  it('should keep no PTR apart from DNS that failed', async () => {
    expect((await nameSender(zone, '192.0.2.99')).outcome).toBe('no_ptr');
    expect((await nameSender(zone, '192.0.2.40')).outcome).toBe('unknown');
    expect((await nameSender(zone, '192.0.2.50')).outcome).toBe('unknown');
    expect((await nameSender(zone, 'not-an-ip')).outcome).toBe('no_ptr');
  });
});

describe('identifySender', () => {
  it('should match by DNS suffix, falling back to the MX provider map', () => {
    expect(identifySender('mail-yw1-f178.google.com')?.id).toBe('google');
    expect(identifySender('mta-10-1.sparkpostmail.com.')?.id).toBe('sparkpost');
    expect(identifySender('mx0a-001.pphosted.com')?.id).toBe('proofpoint');
    expect(identifySender('notsendgrid.net')).toBeUndefined();
    expect(identifySender('sendgrid.net.evil.example')).toBeUndefined();
  });
});
