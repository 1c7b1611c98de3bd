import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { memoizeResolver } from '../shared/memo-resolver.ts';
import { discoverDmarc, discoverRfc7489, discoverRfc9989, dmarcLookup, treeWalkNames } from './discovery.ts';

const txt = (record: string) => ({ TXT: [record] });

async function both(domain: string, zone: Zone) {
  const resolver = createZoneResolver(zone);
  const outcomes = await discoverDmarc(domain, memoizeResolver(resolver));
  return { ...outcomes, calls: resolver.calls.map((c) => c.name) };
}

describe('treeWalkNames', () => {
  it('should walk a long name in at most 8 queries, jumping to 7 labels (RFC 9989 §4.10)', () => {
    expect(treeWalkNames('a.b.c.d.e.f.g.h.i.j.k.example.com')).toEqual([
      'a.b.c.d.e.f.g.h.i.j.k.example.com',
      'g.h.i.j.k.example.com',
      'h.i.j.k.example.com',
      'i.j.k.example.com',
      'j.k.example.com',
      'k.example.com',
      'example.com',
      'com',
    ]);
  });

  it('should shorten 8 labels by one and 9 labels to 7', () => {
    expect(treeWalkNames('a.b.c.d.e.f.example.com').slice(0, 2)).toEqual([
      'a.b.c.d.e.f.example.com',
      'b.c.d.e.f.example.com',
    ]);
    expect(treeWalkNames('x.a.b.c.d.e.f.example.com').slice(0, 2)).toEqual([
      'x.a.b.c.d.e.f.example.com',
      'b.c.d.e.f.example.com',
    ]);
    expect(treeWalkNames('x.a.b.c.d.e.f.example.com')).toHaveLength(8);
    expect(treeWalkNames('com')).toEqual(['com']);
  });
});

describe('discoverRfc7489', () => {
  const lookupIn = (zone: Zone) => dmarcLookup(createZoneResolver(zone));

  it('should use the record at the domain', async () => {
    const result = await discoverRfc7489(
      'mail.example.com',
      lookupIn({ '_dmarc.mail.example.com': txt('v=DMARC1; p=none') }),
    );
    expect(result).toMatchObject({
      status: 'found',
      policyDomain: 'mail.example.com',
      queried: ['mail.example.com'],
    });
  });

  it('should fall back to the Public Suffix List organizational domain, skipping intermediate names', async () => {
    const zone = {
      '_dmarc.b.example.co.uk': txt('v=DMARC1; p=none'),
      '_dmarc.example.co.uk': txt('v=DMARC1; p=reject'),
    };
    const result = await discoverRfc7489('a.b.example.co.uk', lookupIn(zone));
    expect(result).toMatchObject({
      status: 'found',
      policyDomain: 'example.co.uk',
      organizationalDomain: 'example.co.uk',
    });
    expect(result.queried).toEqual(['a.b.example.co.uk', 'example.co.uk']);
  });

  it('should end discovery at several records, even with a record at the organizational domain', async () => {
    const zone = {
      '_dmarc.mail.example.com': { TXT: ['v=DMARC1; p=reject', 'v=DMARC1; p=none'] },
      '_dmarc.example.com': txt('v=DMARC1; p=reject'),
    };
    const result = await discoverRfc7489('mail.example.com', lookupIn(zone));
    expect(result).toMatchObject({ status: 'multiple', multipleAt: ['mail.example.com'], record: null });
  });

  it('should ignore TXT records that are not DMARC and join split strings', async () => {
    const zone = { '_dmarc.example.com': { TXT: ['some verification', ['v=DMARC1; p=re', 'ject']] } };
    const result = await discoverRfc7489('example.com', lookupIn(zone));
    expect(result).toMatchObject({ status: 'found', record: 'v=DMARC1; p=reject' });
  });

  it('should be unknown when the lookup fails', async () => {
    const result = await discoverRfc7489(
      'example.com',
      lookupIn({ '_dmarc.example.com': { unknown: 'timeout' } }),
    );
    expect(result).toMatchObject({
      status: 'unknown',
      unknownAt: { domain: 'example.com', reason: 'timeout' },
    });
  });
});

describe('discoverRfc9989', () => {
  const lookupIn = (zone: Zone) => dmarcLookup(createZoneResolver(zone));

  it('should walk to the root and take the record with the fewest labels as organizational domain', async () => {
    const zone = {
      '_dmarc.b.example.com': txt('v=DMARC1; p=none'),
      '_dmarc.example.com': txt('v=DMARC1; p=reject'),
    };
    const result = await discoverRfc9989('a.b.example.com', lookupIn(zone));
    expect(result).toMatchObject({
      status: 'found',
      policyDomain: 'example.com',
      organizationalDomain: 'example.com',
    });
    expect(result.queried).toEqual(['a.b.example.com', 'b.example.com', 'example.com', 'com']);
  });

  it('should stop at psd=n and make that domain the organizational domain', async () => {
    const zone = {
      '_dmarc.b.example.com': txt('v=DMARC1; p=reject; psd=n'),
      '_dmarc.example.com': txt('v=DMARC1; p=none'),
    };
    const result = await discoverRfc9989('a.b.example.com', lookupIn(zone));
    expect(result).toMatchObject({ policyDomain: 'b.example.com', organizationalDomain: 'b.example.com' });
    expect(result.queried).toEqual(['a.b.example.com', 'b.example.com']);
  });

  it('should stop at psd=y above the author: the organizational domain is one label below (B.4.3)', async () => {
    const zone = {
      '_dmarc.bank.example': txt('v=DMARC1; p=reject; sp=quarantine; psd=y'),
      '_dmarc.giant.bank.example': txt('v=DMARC1; p=quarantine'),
    };
    const withOwn = await discoverRfc9989('mail.giant.bank.example', lookupIn(zone));
    expect(withOwn).toMatchObject({
      organizationalDomain: 'giant.bank.example',
      policyDomain: 'giant.bank.example',
    });

    const psdOnly = await discoverRfc9989(
      'mail.giant.bank.example',
      lookupIn({ '_dmarc.bank.example': zone['_dmarc.bank.example'] }),
    );
    expect(psdOnly).toMatchObject({
      organizationalDomain: 'giant.bank.example',
      policyDomain: 'bank.example',
    });
    expect(psdOnly.queried).toEqual(['mail.giant.bank.example', 'giant.bank.example', 'bank.example']);
  });

  it('should make a domain with no record above it its own organizational domain', async () => {
    const result = await discoverRfc9989(
      'mail.example.com',
      lookupIn({ '_dmarc.mail.example.com': txt('v=DMARC1; p=reject') }),
    );
    expect(result).toMatchObject({
      organizationalDomain: 'mail.example.com',
      policyDomain: 'mail.example.com',
    });
  });

  it('should discard several records at a name and keep walking', async () => {
    const zone = {
      '_dmarc.mail.example.com': { TXT: ['v=DMARC1; p=reject', 'v=DMARC1; p=none'] },
      '_dmarc.example.com': txt('v=DMARC1; p=quarantine'),
    };
    const result = await discoverRfc9989('mail.example.com', lookupIn(zone));
    expect(result).toMatchObject({
      status: 'found',
      policyDomain: 'example.com',
      multipleAt: ['mail.example.com'],
    });
  });

  it('should keep the author record when a lookup above it fails, and be unknown otherwise', async () => {
    const above = {
      '_dmarc.example.com': txt('v=DMARC1; p=reject'),
      '_dmarc.com': { unknown: 'servfail' as const },
    };
    const kept = await discoverRfc9989('example.com', lookupIn(above));
    expect(kept).toMatchObject({ status: 'found', policyDomain: 'example.com', organizationalDomain: null });

    const lost = await discoverRfc9989('mail.example.com', lookupIn(above));
    expect(lost).toMatchObject({ status: 'unknown', unknownAt: { domain: 'com', reason: 'servfail' } });
  });
});

describe('discoverDmarc', () => {
  it('should ask each _dmarc name once for both discoveries', async () => {
    const { rfc7489, rfc9989, calls } = await both('mail.example.com', {
      '_dmarc.example.com': txt('v=DMARC1; p=reject'),
    });
    expect(rfc7489.policyDomain).toBe('example.com');
    expect(rfc9989.policyDomain).toBe('example.com');
    expect(calls).toEqual(['_dmarc.mail.example.com', '_dmarc.example.com', '_dmarc.com']);
  });

  it('should collect records meant as DMARC but ignored', async () => {
    const { ignoredRecords } = await both('example.com', { '_dmarc.example.com': txt('v=dmarc1; p=reject') });
    expect(ignoredRecords).toEqual([{ domain: 'example.com', record: 'v=dmarc1; p=reject' }]);
  });

  it('should not query names longer than DNS allows', async () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(55)}.com`;
    const { rfc9989, calls } = await both(long, {});
    expect(rfc9989.status).toBe('none');
    expect(calls).not.toContain(`_dmarc.${long}`);
  });
});
