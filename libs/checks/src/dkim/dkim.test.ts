import { createZoneResolver, type Zone } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { loadCorpusZone } from '../dmarc/zonefile.test-helper.ts';
import { checkDkim } from './dkim.ts';
import { COMMON_DKIM_SELECTORS, MAX_SELECTORS_PER_DOMAIN } from './selectors.ts';
import { ED25519_KEY, rsaKeyBase64 } from './test-keys.test-helper.ts';

const GOOD = `v=DKIM1; k=rsa; p=${rsaKeyBase64(2048)}`;

async function run(zone: Zone, selectors: string[] = ['s1'], probeCommonSelectors = false) {
  const resolver = createZoneResolver(zone);
  const result = await checkDkim('example.com', { resolver, selectors, probeCommonSelectors });
  return { result, codes: result.findings.map((f) => f.code), calls: resolver.calls.map((c) => c.name) };
}

const key = (record: string | string[]) => run({ 's1._domainkey.example.com': { TXT: [record] } });

describe(checkDkim.name, () => {
  it('should report nothing for a 2048-bit RSA key and an Ed25519 key, with facts', async () => {
    const zone = {
      's1._domainkey.example.com': { TXT: [GOOD] },
      'ed._domainkey.example.com': { TXT: [`v=DKIM1; k=ed25519; p=${ED25519_KEY}`] },
    };
    const { result, calls } = await run(zone, ['s1', 'ED']);
    expect(result.status).toBe('ok');
    expect(result.findings).toEqual([]);
    expect(result.facts).toMatchObject({
      domainkeyNode: 'exists',
      selectorsTried: ['s1', 'ed'],
      selectorsFound: ['s1', 'ed'],
      selectors: [
        {
          selector: 's1',
          status: 'found',
          source: 'given',
          keys: [{ keyType: 'rsa', bits: 2048, usable: true }],
        },
        { selector: 'ed', status: 'found', keys: [{ keyType: 'ed25519', bits: 256 }] },
      ],
    });
    expect(calls[0]).toBe('_domainkey.example.com');
  });

  it('should throw for a name that is not a domain (a caller bug)', async () => {
    await expect(checkDkim('exa mple.com', { resolver: createZoneResolver({}) })).rejects.toThrow(RangeError);
  });

  describe('dkim.no_selector_found and the RFC 8020 probe', () => {
    it('should skip the common selectors after NXDOMAIN and say no keys are published', async () => {
      const { result, codes, calls } = await run({}, [], true);
      expect(codes).toEqual(['dkim.no_selector_found']);
      expect(result.facts.domainkeyNode).toBe('nxdomain');
      expect(calls).toEqual(['_domainkey.example.com']);
      expect(result.findings[0]?.message).toContain('does not exist');
    });
    it('should try the common selectors when _domainkey exists (NODATA) and report none found', async () => {
      const { result, codes, calls } = await run(
        { 'other._domainkey.example.com': { TXT: ['x'] } },
        [],
        true,
      );
      expect(result.facts.domainkeyNode).toBe('exists');
      expect(calls).toHaveLength(1 + COMMON_DKIM_SELECTORS.length);
      expect(codes).toEqual(['dkim.no_selector_found']);
    });
    it('should be absent when a common selector has a key', async () => {
      const { result, codes } = await run({ 'selector1._domainkey.example.com': { TXT: [GOOD] } }, [], true);
      expect(codes).toEqual([]);
      expect(result.facts.selectorsFound).toEqual(['selector1']);
    });
    it('should ignore non-key TXT records under guessed selectors (as a wildcard TXT would give)', async () => {
      const zone = {
        'x._domainkey.example.com': { TXT: [GOOD] },
        'google._domainkey.example.com': { TXT: ['v=spf1 -all'] },
      };
      const { codes, result } = await run(zone, [], true);
      expect(result.facts.selectorsFound).toEqual([]);
      expect(codes).toEqual(['dkim.no_selector_found']);
    });
  });

  describe('dkim.domainkey_nxdomain', () => {
    it('should appear when a given selector has a key below an NXDOMAIN _domainkey', async () => {
      const resolver = createZoneResolver({ 's1._domainkey.example.com': { TXT: [GOOD] } });
      const lying = {
        query: ((name, type, options) =>
          name === '_domainkey.example.com'
            ? Promise.resolve({ status: 'nxdomain', name, type, ttlSeconds: 60, cnameChain: [] })
            : resolver.query(name, type, options)) as typeof resolver.query,
      };
      const result = await checkDkim('example.com', { resolver: lying, selectors: ['s1'] });
      expect(result.findings.map((f) => f.code)).toEqual(['dkim.domainkey_nxdomain']);
    });
    it('should be absent when _domainkey answers NODATA', async () => {
      expect((await key(GOOD)).codes).toEqual([]);
    });
  });

  describe('dkim.selector_missing and dkim.invalid_selector', () => {
    it('should report a given selector without a key, and invalid selectors', async () => {
      const zone = { 's1._domainkey.example.com': { TXT: [GOOD] } };
      const { codes } = await run(zone, ['s1', 's2', 'bad selector', '']);
      expect(codes).toEqual(['dkim.invalid_selector', 'dkim.invalid_selector', 'dkim.selector_missing']);
    });
    it('should be absent for given selectors that exist', async () => {
      expect((await key(GOOD)).codes).toEqual([]);
    });
  });

  describe('key findings', () => {
    it.each([
      [`v=DKIM1; p=${rsaKeyBase64(512)}`, 'dkim.key_too_short'],
      [`v=DKIM1; p=${rsaKeyBase64(1024)}`, 'dkim.key_weak'],
      [`v=DKIM1; p=${rsaKeyBase64(8192)}`, 'dkim.key_oversized'],
      ['v=DKIM1; k=rsa; p=', 'dkim.key_revoked'],
      [`v=DKIM1; t=y; p=${rsaKeyBase64(2048)}`, 'dkim.testing_mode'],
      [`v=DKIM1; h=sha1:sha256; p=${rsaKeyBase64(2048)}`, 'dkim.sha1_allowed'],
      [`v=DKIM1; h=sha1; p=${rsaKeyBase64(2048)}`, 'dkim.sha1_only'],
      [`v=DKIM1; s=tlsrpt; p=${rsaKeyBase64(2048)}`, 'dkim.service_not_email'],
      [`v=DKIM2; p=${rsaKeyBase64(2048)}`, 'dkim.syntax_error'],
      [`v=DKIM1; k=dsa; p=${rsaKeyBase64(2048)}`, 'dkim.unknown_key_type'],
      [`v=DKIM1; g=jdoe; p=${rsaKeyBase64(2048)}`, 'dkim.deprecated_tag'],
    ])('should report %#: %s as %s', async (record, code) => {
      expect((await key(record)).codes).toEqual([code]);
    });

    it.each([
      [`v=DKIM1; h=sha256; p=${rsaKeyBase64(2048)}`],
      [`v=DKIM1; t=s; p=${rsaKeyBase64(4096)}`],
      [`v=DKIM1; s=email:*; g=*; p=${rsaKeyBase64(2048)}`],
      [`v=DKIM1; k=RSA; p=${rsaKeyBase64(2048, 'pkcs1')}`],
    ])('should not report %#: %s', async (record) => {
      expect((await key(record)).codes).toEqual([]);
    });

    it('should report several records at one selector', async () => {
      const { codes } = await run({ 's1._domainkey.example.com': { TXT: [GOOD, GOOD] } });
      expect(codes).toEqual(['dkim.multiple_records']);
    });
  });

  describe('dkim.lookup_unknown', () => {
    it('should give status unknown, never no_selector_found, when a selector lookup fails', async () => {
      const { result, codes } = await run({ 's1._domainkey.example.com': { unknown: 'timeout' } });
      expect(result.status).toBe('unknown');
      expect(codes).toEqual(['dkim.lookup_unknown']);
    });
    it('should keep going after a failed probe', async () => {
      const zone = {
        '_domainkey.example.com': { unknown: 'servfail' as const },
        's1._domainkey.example.com': { TXT: [GOOD] },
      };
      const { result, codes } = await run(zone);
      expect(result.status).toBe('unknown');
      expect(result.facts.selectorsFound).toEqual(['s1']);
      expect(codes).toEqual(['dkim.lookup_unknown']);
    });
  });

  describe('hostile input', () => {
    it('should cap the selectors asked and survive huge records', async () => {
      const selectors = Array.from({ length: 1000 }, (_, i) => `sel${i}`);
      const resolver = createZoneResolver({
        'sel0._domainkey.example.com': { TXT: [Array.from({ length: 10_000 }, () => 'p=AAAA;')] },
      });
      const result = await checkDkim('example.com', { resolver, selectors });
      expect(resolver.calls).toHaveLength(1 + MAX_SELECTORS_PER_DOMAIN);
      expect(result.facts.selectorsDropped).toBe(
        1000 - MAX_SELECTORS_PER_DOMAIN + COMMON_DKIM_SELECTORS.length,
      );
      expect(result.findings.map((f) => f.code)).toContain('dkim.syntax_error');
      expect(JSON.stringify(result).length).toBeLessThan(100_000);
    });
  });
});

describe('DKIM on the corpus zones', () => {
  it('should read the milter zone: marcbradshaw.net google key in testing mode, tfe2 2048-bit', async () => {
    const resolver = createZoneResolver(loadCorpusZone('dmarc-suite/authentication_milter/zonefile'));
    const result = await checkDkim('marcbradshaw.net', {
      resolver,
      selectors: ['google', 'tfe2'],
      probeCommonSelectors: false,
    });
    expect(result.facts.selectors.map((s) => [s.selector, s.keys[0]?.bits])).toEqual([
      ['google', 1024],
      ['tfe2', 2048],
    ]);
    expect(result.findings.map((f) => [f.subject, f.code])).toEqual([
      ['google._domainkey.marcbradshaw.net', 'dkim.key_weak'],
      ['google._domainkey.marcbradshaw.net', 'dkim.testing_mode'],
    ]);
  });

  it('should find the key of the BIMI milter zone under the given selector', async () => {
    const resolver = createZoneResolver(loadCorpusZone('bimi/authentication_milter/bimi.zonefile'));
    const result = await checkDkim('example.com', { resolver, selectors: ['dkim1'] });
    expect(result.facts.selectorsFound).toEqual(['dkim1']);
  });
});
