import { describe, expect, it } from 'vitest';
import { identifyProvider, knownProviders } from './providers.ts';
import { addressKey, looksLikeAddress, reverseName } from './reverse-name.ts';

describe('identifyProvider', () => {
  it.each([
    ['aspmx.l.google.com', 'google'],
    ['ALT1.ASPMX.L.GOOGLE.COM.', 'google'],
    ['smtp.google.com', 'google'],
    ['contoso-com.mail.protection.outlook.com', 'microsoft'],
    ['c365-biz.p-v1.mx.microsoft', 'microsoft'],
    ['mx0a-00123456.pphosted.com', 'proofpoint'],
    ['mx1-us1.ppe-hosted.com', 'proofpoint_essentials'],
    ['eu-smtp-inbound-1.mimecast.com', 'mimecast'],
    ['d123456a.ess.barracudanetworks.com', 'barracuda'],
    ['mx1.hc1234-56.iphmx.com', 'cisco'],
    ['mx.zoho.eu', 'zoho'],
    ['in1-smtp.messagingengine.com', 'fastmail'],
    ['inbound-smtp.eu-west-1.amazonaws.com', 'amazon'],
    ['mx.yandex.net', 'yandex'],
    ['emx.mail.ru', 'mailru'],
    ['mx1.mail.ovh.net', 'ovh'],
    ['spool.mail.gandi.net', 'gandi'],
    ['mx00.ionos.de', 'ionos'],
    ['mx01.hornetsecurity.com', 'hornetsecurity'],
    ['example-com.in.tmes.trendmicro.eu', 'trendmicro'],
    ['mx-01-eu-west-1.prod.hydra.sophos.com', 'sophos'],
    ['cluster1.eu.messagelabs.com', 'messagelabs'],
    ['mx.spamexperts.com', 'spamexperts'],
    ['mxa.mailgun.org', 'mailgun'],
    ['mx.sendgrid.net', 'sendgrid'],
    ['route1.mx.cloudflare.net', 'cloudflare_routing'],
  ])('%s -> %s', (host, id) => {
    expect(identifyProvider(host)?.id).toBe(id);
  });

  it.each([
    'mail.example.com',
    'notgoogle.com',
    'ec2-1-2-3-4.compute-1.amazonaws.com',
    'google.com.evil.example',
    'xmimecast.com',
  ])('%s is not attributed', (host) => {
    expect(identifyProvider(host)).toBeUndefined();
  });

  it('has unique ids', () => {
    const ids = knownProviders().map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('reverse names and address keys', () => {
  it('builds in-addr.arpa and nibble ip6.arpa names (RFC 1035 §3.5, RFC 3596 §2.5)', () => {
    expect(reverseName('192.0.2.1')).toBe('1.2.0.192.in-addr.arpa');
    expect(reverseName('2001:db8::567:89ab')).toBe(
      'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    );
    expect(reverseName('not-an-ip')).toBeUndefined();
  });

  it('compares IPv6 addresses whatever their spelling', () => {
    expect(addressKey('2001:DB8:0:0::1')).toBe(addressKey('2001:db8::1'));
    expect(addressKey('::ffff:192.0.2.1')).toBe(addressKey('::ffff:c000:201'));
    expect(addressKey('1::2::3')).toBeUndefined();
    expect(addressKey('1:2:3:4:5:6:7')).toBeUndefined();
  });

  it('spots address literals among MX exchanges', () => {
    expect(looksLikeAddress('192.0.2.1')).toBe(true);
    expect(looksLikeAddress('[2001:db8::1]')).toBe(true);
    expect(looksLikeAddress('mail.example.com')).toBe(false);
    expect(looksLikeAddress('1.example')).toBe(false);
  });
});
