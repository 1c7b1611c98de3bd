import { createZoneResolver } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { parseAllowList } from './cidr.ts';
import { resolveAndVet } from './vet.ts';

const allowOf = (text: string) => {
  const r = parseAllowList(text);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.allow;
};

const zone = createZoneResolver({
  'public.example': { A: ['8.8.8.8'], AAAA: ['2606:4700:4700::1111'] },
  'loop.example': { A: ['127.0.0.7'] },
  'mixed.example': { A: ['8.8.4.4', '10.0.0.1'] },
  'meta.example': { A: ['169.254.169.254'] },
  'mapped.example': { AAAA: ['::ffff:127.0.0.1'] },
  'nat64.example': { AAAA: ['64:ff9b::a9fe:a9fe'] },
  'bogus.example': { A: ['0x7f.1'] },
  'wrongfamily.example': { A: ['::1'] },
  'alias.example': { CNAME: ['loop.example'] },
  'empty.example': { TXT: ['x'] },
  'slow.example': { unknown: 'timeout' },
  'half.example': { A: ['8.8.8.8'], unknown: { reason: 'servfail', types: ['AAAA'] } },
});

describe('resolveAndVet', () => {
  it('returns every public address of a name', async () => {
    const r = await resolveAndVet('Public.Example.', { resolver: zone, allow: [] });
    expect(r).toEqual({
      ok: true,
      host: 'public.example',
      isIpLiteral: false,
      addresses: [
        { address: '8.8.8.8', family: 4, verdict: 'public' },
        { address: '2606:4700:4700::1111', family: 6, verdict: 'public' },
      ],
    });
  });

  it('refuses a name that resolves to loopback unless the allow-list opens it', async () => {
    const refused = await resolveAndVet('loop.example', { resolver: zone, allow: [] });
    expect(refused).toMatchObject({
      ok: false,
      reason: 'ssrf_refused',
      refused: [{ address: '127.0.0.7', verdict: 'loopback' }],
    });
    const allowed = await resolveAndVet('loop.example', { resolver: zone, allow: allowOf('127.0.0.0/8') });
    expect(allowed).toMatchObject({
      ok: true,
      addresses: [{ address: '127.0.0.7', allowedBy: '127.0.0.0/8' }],
    });
  });

  it('refuses the whole host when any one address is forbidden', async () => {
    const r = await resolveAndVet('mixed.example', { resolver: zone, allow: [] });
    expect(r).toMatchObject({
      ok: false,
      reason: 'ssrf_refused',
      refused: [{ address: '10.0.0.1', verdict: 'private' }],
    });
  });

  it('refuses metadata, IPv4-mapped loopback, NAT64 of metadata, CNAMEs to loopback', async () => {
    for (const host of ['meta.example', 'mapped.example', 'nat64.example', 'alias.example']) {
      const r = await resolveAndVet(host, { resolver: zone, allow: [] });
      expect(r.ok, host).toBe(false);
      expect(!r.ok && r.reason, host).toBe('ssrf_refused');
    }
  });

  it('refuses malformed or wrong-family addresses from the resolver', async () => {
    for (const host of ['bogus.example', 'wrongfamily.example']) {
      const r = await resolveAndVet(host, { resolver: zone, allow: allowOf('127.0.0.0/8,::1/128') });
      expect(r).toMatchObject({ ok: false, reason: 'ssrf_refused', refused: [{ verdict: 'invalid' }] });
    }
  });

  it('checks IP literals directly, without DNS', async () => {
    const resolver = createZoneResolver({});
    expect(await resolveAndVet('8.8.8.8', { resolver, allow: [] })).toMatchObject({
      ok: true,
      isIpLiteral: true,
    });
    expect(await resolveAndVet('[::1]', { resolver, allow: [] })).toMatchObject({
      ok: false,
      reason: 'ssrf_refused',
    });
    expect(await resolveAndVet('[::1]', { resolver, allow: allowOf('::1/128') })).toMatchObject({
      ok: true,
      host: '::1',
      addresses: [{ address: '::1', family: 6 }],
    });
    expect(resolver.calls).toEqual([]);
  });

  it.each([
    '0x7f.1',
    '017700000001',
    '127.1',
    'fe80::1%eth0',
    'a..b',
    '-a.example',
    'ex ample.com',
    'bücher.example',
    `${'a'.repeat(64)}.example`,
  ])('refuses %j as an invalid host without asking DNS', async (host) => {
    const resolver = createZoneResolver({});
    const r = await resolveAndVet(host, { resolver, allow: allowOf('0.0.0.0/0,::/0') });
    expect(r).toMatchObject({ ok: false, reason: 'invalid_host' });
    expect(resolver.calls).toEqual([]);
  });

  it('keeps "could not find out" apart from "no address"', async () => {
    expect(await resolveAndVet('slow.example', { resolver: zone, allow: [] })).toMatchObject({
      ok: false,
      reason: 'dns_unknown',
    });
    expect(await resolveAndVet('empty.example', { resolver: zone, allow: [] })).toEqual({
      ok: false,
      reason: 'dns_no_address',
      host: 'empty.example',
      detail: 'nodata',
    });
    expect(await resolveAndVet('missing.example', { resolver: zone, allow: [] })).toMatchObject({
      reason: 'dns_no_address',
      detail: 'nxdomain',
    });
    // One family unknown, the other answered: the answered addresses are vetted and usable.
    expect(await resolveAndVet('half.example', { resolver: zone, allow: [] })).toMatchObject({
      ok: true,
      addresses: [{ address: '8.8.8.8' }],
    });
  });

  it('turns a throwing resolver into dns_unknown', async () => {
    const resolver = { query: () => Promise.reject(new Error('boom')) };
    expect(await resolveAndVet('x.example', { resolver, allow: [] })).toMatchObject({
      ok: false,
      reason: 'dns_unknown',
    });
  });
});
