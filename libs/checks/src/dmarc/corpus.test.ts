/**
 * DMARC against the shared corpus zones, used as they are: the authentication_milter test zone
 * (real DMARC records with external report destinations and their _report._dmarc authorisations)
 * and the Mail::BIMI zone (p=reject records).
 */

import { createZoneResolver } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { checkDmarc } from './dmarc.ts';
import { loadCorpusZone } from './zonefile.test-helper.ts';

const milter = loadCorpusZone('dmarc-suite/authentication_milter/zonefile');
const bimi = loadCorpusZone('bimi/mail-bimi/zonefile');

async function codesFor(zone: typeof milter, domain: string) {
  const result = await checkDmarc(domain, { resolver: createZoneResolver(zone) });
  return { result, codes: result.findings.map((f) => f.code) };
}

describe('DMARC on the authentication_milter corpus zone', () => {
  it('should accept goestheweasel.com: p=reject, rua authorised by the external destination', async () => {
    const { result, codes } = await codesFor(milter, 'goestheweasel.com');
    expect(result.facts).toMatchObject({ effectivePolicy: 'reject', pct: 100 });
    expect(result.facts.reportDestinations).toEqual([
      expect.objectContaining({
        host: 'ops.twofiftyeight.ltd.uk',
        authorization: 'authorized',
        verificationName: 'goestheweasel.com._report._dmarc.ops.twofiftyeight.ltd.uk',
      }),
    ]);
    // pct and rf are RFC 7489 tags that RFC 9989 removed.
    expect(codes).toEqual(['dmarc.deprecated_tag']);
  });

  it('should report marcbradshaw.net as p=none with an authorised destination', async () => {
    const { codes } = await codesFor(milter, 'marcbradshaw.net');
    expect(codes).toEqual(['dmarc.deprecated_tag', 'dmarc.policy_none']);
  });

  it('should report example.com, listed as NXDOMAIN for _dmarc, as missing', async () => {
    expect((await codesFor(milter, 'example.com')).codes).toEqual(['dmarc.missing']);
  });

  it('should use the own record of foobar.spfuvictim.com and note no rua', async () => {
    const { result, codes } = await codesFor(milter, 'foobar.spfuvictim.com');
    expect(result.facts.recordDomain).toBe('foobar.spfuvictim.com');
    expect(codes).toEqual(['dmarc.no_rua']);
  });
});

describe('DMARC on the Mail::BIMI corpus zone', () => {
  it.each(['domain.com', 'dnslookupmulti.com', 'recordfallback.com'])(
    'should find p=reject with sp=reject for %s',
    async (domain) => {
      const { result, codes } = await codesFor(bimi, domain);
      expect(result.facts).toMatchObject({ effectivePolicy: 'reject', subdomainPolicy: 'reject' });
      expect(codes).toEqual(['dmarc.no_rua']);
    },
  );
});
