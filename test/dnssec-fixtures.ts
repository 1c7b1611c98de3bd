/**
 * A signed test DNS tree for the DNSSEC and DANE tests: a test root (its own trust anchor), the
 * `test.` TLD (NSEC3 with Opt-Out, like most real TLDs) and one zone per case below it. Every
 * zone is signed here with node:crypto (libs/testing/src/dnssec) and served by the test DNS server.
 */
import type { ZoneSpec, Zones } from '@mailwarden/testing/dns-server';
import {
  type Denial,
  dsFor,
  generateTestKey,
  type SignatureTamper,
  signZone,
  type TestKey,
  trustAnchorLines,
} from '@mailwarden/testing/dnssec';

const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);

export interface CaseZone {
  /** Keys that sign (and get a DS at the parent unless `ds` says otherwise). */
  keys?: TestKey[];
  extraKeys?: TestKey[];
  spec?: ZoneSpec;
  denial?: Denial;
  inception?: number;
  expiration?: number;
  tamper?: (owner: string, type: string) => SignatureTamper | undefined;
  /** DS published at the parent: default one SHA-256 DS per SEP key; 'none' for an unsigned delegation. */
  ds?: 'none' | ((keys: TestKey[]) => ReturnType<typeof dsFor>[]);
  /** Serve the zone unsigned. */
  unsigned?: boolean;
  /** Children delegated from this zone. */
  children?: Record<string, CaseZone>;
}

export function mailSpec(apex: string, extra: ZoneSpec['records'] = {}): ZoneSpec {
  return {
    records: {
      '@': { MX: [{ preference: 10, exchange: `mx.${apex}` }], A: ['192.0.2.10'], TXT: ['v=spf1 -all'] },
      mx: { A: ['192.0.2.25'] },
      ...extra,
    },
  };
}

/** Signs a zone and its children, depth first; returns every zone and the DS set for the parent. */
function build(apex: string, zone: CaseZone, out: Zones): ReturnType<typeof dsFor>[] {
  const childDs: Record<string, ReturnType<typeof dsFor>[]> = {};
  const spec: ZoneSpec = structuredClone(zone.spec ?? mailSpec(apex));
  spec.records ??= {};
  for (const [child, childZone] of Object.entries(zone.children ?? {})) {
    // Children are named relative to the parent, or absolutely (ending in the parent's name).
    const name = apex !== '' && child.endsWith(`.${apex}`) ? child : `${child}.${apex}`.replace(/\.$/, '');
    const ds = build(name, childZone, out);
    if (ds.length > 0) childDs[name] = ds;
    else {
      const node = spec.records[name] ?? {};
      node.NS ??= [`ns1.${name}`];
      spec.records[name] = node;
    }
  }
  if (zone.unsigned) {
    out[apex] = spec;
    return [];
  }
  const keys = zone.keys ?? [generateTestKey(13)];
  out[apex] = signZone(apex, spec, {
    keys,
    ...(zone.extraKeys ? { extraKeys: zone.extraKeys } : {}),
    denial: zone.denial ?? 'nsec',
    childDs,
    ...(zone.inception !== undefined ? { inception: zone.inception } : {}),
    ...(zone.expiration !== undefined ? { expiration: zone.expiration } : {}),
    ...(zone.tamper ? { tamper: zone.tamper } : {}),
  });
  if (zone.ds === 'none') return [];
  if (zone.ds) return zone.ds(keys);
  return keys.filter((k) => k.flags & 1).map((k) => dsFor(apex, k));
}

export interface SignedTree {
  zones: Zones;
  /** DS lines for the test root, for `parseTrustAnchors` and delv. */
  anchorText: string;
  rootKeys: TestKey[];
}

export function buildTree(cases: Record<string, CaseZone>): SignedTree {
  const rootKsk = generateTestKey(8, { role: 'ksk' });
  const rootZsk = generateTestKey(8, { role: 'zsk', rsaBits: 1024 });
  const zones: Zones = {};
  build(
    '',
    {
      keys: [rootKsk, rootZsk],
      spec: { records: {} },
      children: {
        test: {
          keys: [generateTestKey(13)],
          denial: { nsec3: { optOut: true } },
          spec: { records: {} },
          children: cases,
        },
      },
    },
    zones,
  );
  return { zones, anchorText: trustAnchorLines('.', [rootKsk]), rootKeys: [rootKsk, rootZsk] };
}

/** Every case the issue names, by zone: what the validator must say. */
export function standardCases(): Record<string, CaseZone> {
  const k13 = () => generateTestKey(13);
  const unpublished = generateTestKey(13);
  const rollKsk8 = generateTestKey(8, { role: 'ksk', rsaBits: 1024 });
  const rollZsk8 = generateTestKey(8, { role: 'zsk', rsaBits: 1024 });
  const rollKsk13 = generateTestKey(13, { role: 'ksk' });
  const rollZsk13 = generateTestKey(13, { role: 'zsk' });
  const brokenKsk8 = generateTestKey(8, { role: 'ksk', rsaBits: 1024 });
  const brokenKsk13 = generateTestKey(13, { role: 'ksk' });
  const brokenZsk8 = generateTestKey(8, { role: 'zsk', rsaBits: 1024 });
  const sec = (apex: string) =>
    mailSpec(apex, {
      '*.wild': { A: ['192.0.2.77'], TXT: ['wildcard'] },
      alias: { CNAME: [`mx.${apex}`] },
      'deep.ent': { A: ['192.0.2.5'] },
      '_25._tcp.mx': { TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: 'aa'.repeat(32) }] },
    });
  return {
    'secure.test': { spec: sec('secure.test'), children: { island: { unsigned: true }, signedchild: {} } },
    'nsec3.test': {
      keys: [generateTestKey(8, { rsaBits: 1024 })],
      spec: sec('nsec3.test'),
      denial: { nsec3: {} },
      children: { island: { unsigned: true } },
    },
    'ed.test': { keys: [generateTestKey(15)] },
    'ed448.test': { keys: [generateTestKey(16)] },
    'p384.test': { keys: [generateTestKey(14)] },
    'rsa512.test': { keys: [generateTestKey(10, { rsaBits: 1024 })] },
    'unsigned.test': { unsigned: true },
    'expired.test': { inception: now() - 40 * DAY, expiration: now() - DAY },
    'future.test': { inception: now() + 2 * DAY, expiration: now() + 40 * DAY },
    'nokey.test': { tamper: (_o, t) => (t === 'MX' ? { keys: [unpublished] } : undefined) },
    'dsmismatch.test': {
      keys: [k13()],
      ds: (keys) => keys.map((k) => ({ ...dsFor('dsmismatch.test', k), digest: Buffer.alloc(32, 7) })),
    },
    'unsupported.test': { tamper: (_o, t) => (t === 'MX' ? { algorithm: 200 } : undefined) },
    'unsupportedds.test': {
      ds: (keys) => keys.map((k) => ({ ...dsFor('unsupportedds.test', k), algorithm: 12, keyTag: k.keyTag })),
    },
    'nosig.test': { tamper: (_o, t) => (t === 'MX' ? { omit: true } : undefined) },
    'badsig.test': { tamper: (_o, t) => (t === 'MX' ? { corrupt: true } : undefined) },
    'nodenial.test': { denial: 'none' },
    'expiring.test': { expiration: now() + 3 * DAY },
    'weak.test': {
      keys: [generateTestKey(7, { rsaBits: 1024 })],
      denial: { nsec3: { iterations: 10, salt: Buffer.from('abcd', 'hex') } },
    },
    'manyiter.test': { denial: { nsec3: { iterations: 200 } } },
    'rollover.test': { keys: [rollKsk8, rollZsk8, rollKsk13, rollZsk13] },
    // DANE: a secure zone whose MX hosts publish good, lonely and unusable TLSA records.
    'dane.test': {
      spec: {
        records: {
          '@': {
            MX: [
              { preference: 10, exchange: 'mx.dane.test' },
              { preference: 20, exchange: 'mx2.dane.test' },
              { preference: 30, exchange: 'mx3.dane.test' },
              { preference: 40, exchange: 'mx4.dane.test' },
            ],
          },
          mx: { A: ['192.0.2.25'] },
          mx2: { A: ['192.0.2.26'] },
          mx3: { A: ['192.0.2.27'] },
          mx4: { A: ['192.0.2.28'] },
          '_25._tcp.mx': {
            TLSA: [
              { usage: 3, selector: 1, matchingType: 1, data: 'aa'.repeat(32) },
              { usage: 3, selector: 1, matchingType: 1, data: 'bb'.repeat(32) },
            ],
          },
          '_25._tcp.mx2': { TLSA: [{ usage: 2, selector: 1, matchingType: 2, data: 'cc'.repeat(64) }] },
          '_25._tcp.mx3': {
            TLSA: [
              { usage: 1, selector: 1, matchingType: 1, data: 'dd'.repeat(32) },
              { usage: 3, selector: 1, matchingType: 1, data: 'ee'.repeat(20) },
            ],
          },
        },
      },
    },
    'danebad.test': {
      unsigned: true,
      spec: mailSpec('danebad.test', {
        '_25._tcp.mx': { TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: 'aa'.repeat(32) }] },
      }),
    },
    'plainmx.test': {
      unsigned: true,
      spec: { records: { '@': { MX: [{ preference: 10, exchange: 'mx.dane.test' }] } } },
    },
    'tlsabogus.test': {
      spec: mailSpec('tlsabogus.test', {
        '_25._tcp.mx': { TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: 'aa'.repeat(32) }] },
      }),
      tamper: (_o, t) => (t === 'TLSA' ? { corrupt: true } : undefined),
    },
    'rollover-mid.test': {
      keys: [rollKsk8, rollZsk8, rollKsk13, rollZsk13],
      ds: () => [dsFor('rollover-mid.test', rollKsk8)],
    },
    'rollover-broken.test': {
      keys: [brokenKsk8, brokenZsk8],
      extraKeys: [brokenKsk13],
      ds: () => [dsFor('rollover-broken.test', brokenKsk13)],
    },
  };
}

/** Query, expected verdict, and what else the verdict must carry: the case table of the tests. */
export const VERDICT_CASES = [
  ['secure.test', 'MX', 'secure', {}],
  ['nsec3.test', 'MX', 'secure', {}],
  ['ed.test', 'MX', 'secure', {}],
  ['ed448.test', 'MX', 'secure', {}],
  ['p384.test', 'MX', 'secure', {}],
  ['rsa512.test', 'MX', 'secure', {}],
  ['weak.test', 'MX', 'secure', {}],
  ['rollover.test', 'MX', 'secure', {}],
  ['rollover-mid.test', 'MX', 'secure', {}],
  ['unsigned.test', 'MX', 'insecure', { insecureProof: 'nsec3_opt_out' }],
  ['island.secure.test', 'MX', 'insecure', { insecureProof: 'nsec_no_ds' }],
  ['island.nsec3.test', 'MX', 'insecure', { insecureProof: 'nsec3_no_ds' }],
  ['signedchild.secure.test', 'MX', 'secure', {}],
  ['unsupportedds.test', 'MX', 'insecure', { insecureProof: 'unsupported_ds_algorithms' }],
  ['expired.test', 'MX', 'bogus', { reason: 'signature_expired' }],
  ['future.test', 'MX', 'bogus', { reason: 'signature_not_yet_valid' }],
  ['nokey.test', 'MX', 'bogus', { reason: 'no_matching_key' }],
  ['dsmismatch.test', 'MX', 'bogus', { reason: 'ds_digest_mismatch' }],
  ['unsupported.test', 'MX', 'bogus', { reason: 'unsupported_algorithm' }],
  ['nosig.test', 'MX', 'bogus', { reason: 'missing_signatures' }],
  ['badsig.test', 'MX', 'bogus', { reason: 'invalid_signature' }],
  ['rollover-broken.test', 'MX', 'bogus', { reason: 'no_matching_key' }],
  ['nodenial.test', 'AAAA', 'bogus', { reason: 'broken_denial_proof' }],
  ['nothere.secure.test', 'A', 'secure', { denial: { via: 'nsec', outcome: 'nxdomain' } }],
  ['mx.secure.test', 'AAAA', 'secure', {}],
  ['ent.secure.test', 'A', 'secure', { denial: { via: 'nsec', outcome: 'nodata' } }],
  ['x.wild.secure.test', 'A', 'secure', { rrsets: [{ wildcard: '*.wild.secure.test' }] }],
  ['x.wild.secure.test', 'MX', 'secure', {}],
  ['x.wild.nsec3.test', 'A', 'secure', { rrsets: [{ wildcard: '*.wild.nsec3.test' }] }],
  ['x.wild.nsec3.test', 'MX', 'secure', {}],
  ['nothere.nsec3.test', 'A', 'secure', { denial: { via: 'nsec3', outcome: 'nxdomain' } }],
  ['alias.secure.test', 'A', 'secure', { rrsets: [{ type: 'CNAME' }, { type: 'A' }] }],
  ['nothere.manyiter.test', 'A', 'insecure', { insecureProof: 'nsec3_iterations_over_cap' }],
] as const;
