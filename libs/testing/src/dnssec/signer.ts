/**
 * A small DNSSEC signer for test and benchmark zones (node:crypto only): keys for algorithms
 * 5, 7, 8, 10, 13, 14, 15 and 16, DS records, RRSIGs (RFC 4034 §3), an NSEC chain (RFC 4034 §4)
 * or an NSEC3 chain with optional Opt-Out (RFC 5155 §7.1). It turns an unsigned `ZoneSpec` into
 * a signed one whose records are given as exact RDATA, so the test DNS server serves the very
 * bytes that were signed.
 *
 * Tests break zones on purpose through `tamper`: expired or future signatures, signatures by
 * unpublished keys, corrupted signatures, missing signatures, missing denial records.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { RecordType } from '@mailwarden/core';
import type {
  FixtureDnskey,
  FixtureDs,
  FixtureRRset,
  FixtureValue,
  RawRdata,
  ZoneSpec,
} from '../dns-server/fixtures.ts';
import { encodeRdata, encodeTypeBitmap, typeCode, typeName } from '../dns-server/rr-wire.ts';
import {
  canonical,
  compareCanonical,
  isWithin,
  labels,
  nsec3HashOf,
  parentOf,
  toBase32hex,
  wireName,
} from './names.ts';

export interface TestKey {
  algorithm: number;
  flags: number;
  privateKey: KeyObject;
  publicKey: Buffer;
  /** The DNSKEY RDATA. */
  rdata: Buffer;
  keyTag: number;
  dnskey: FixtureDnskey;
}

/** RFC 4034 Appendix B. */
export function keyTag(rdata: Uint8Array): number {
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? (rdata[i] as number) : (rdata[i] as number) << 8;
  return (ac + ((ac >> 16) & 0xffff)) & 0xffff;
}

const HASH: Record<number, string | null> = {
  5: 'sha1',
  7: 'sha1',
  8: 'sha256',
  10: 'sha512',
  13: 'sha256',
  14: 'sha384',
  15: null,
  16: null,
};

export interface KeyOptions {
  /** 'ksk' sets the SEP flag (257) and signs only the DNSKEY RRset; 'zsk' (256) the rest; 'csk' (257) both. */
  role?: 'ksk' | 'zsk' | 'csk';
  rsaBits?: number;
  /** Publish with the REVOKE bit (RFC 5011). */
  revoked?: boolean;
}

export function generateTestKey(algorithm: number, options: KeyOptions = {}): TestKey {
  const role = options.role ?? 'csk';
  let privateKey: KeyObject;
  let publicKey: Buffer;
  const b = (s: string | undefined) => Buffer.from(s ?? '', 'base64url');
  if ([5, 7, 8, 10].includes(algorithm)) {
    const pair = generateKeyPairSync('rsa', {
      modulusLength: options.rsaBits ?? 2048,
      publicExponent: 65537,
    });
    privateKey = pair.privateKey;
    const jwk = pair.publicKey.export({ format: 'jwk' });
    const e = b(jwk.e);
    // RFC 3110 §2: one-octet exponent length for exponents up to 255 octets.
    publicKey = Buffer.concat([Buffer.from([e.length]), e, b(jwk.n)]);
  } else if (algorithm === 13 || algorithm === 14) {
    const pair = generateKeyPairSync('ec', { namedCurve: algorithm === 13 ? 'P-256' : 'P-384' });
    privateKey = pair.privateKey;
    const jwk = pair.publicKey.export({ format: 'jwk' });
    publicKey = Buffer.concat([b(jwk.x), b(jwk.y)]);
  } else if (algorithm === 15 || algorithm === 16) {
    const pair = algorithm === 15 ? generateKeyPairSync('ed25519') : generateKeyPairSync('ed448');
    privateKey = pair.privateKey;
    publicKey = b(pair.publicKey.export({ format: 'jwk' }).x);
  } else throw new Error(`the test signer cannot make keys for algorithm ${algorithm}`);
  const flags = (role === 'zsk' ? 256 : 257) | (options.revoked ? 0x80 : 0);
  const rdata = Buffer.concat([Buffer.from([flags >> 8, flags & 0xff, 3, algorithm]), publicKey]);
  return {
    algorithm,
    flags,
    privateKey,
    publicKey,
    rdata,
    keyTag: keyTag(rdata),
    dnskey: { flags, protocol: 3, algorithm, publicKey },
  };
}

/** RFC 4034 §5.1.4 (digest types 1, 2 and 4). */
export function dsFor(owner: string, key: TestKey, digestType = 2): FixtureDs {
  const hash = digestType === 1 ? 'sha1' : digestType === 2 ? 'sha256' : digestType === 4 ? 'sha384' : null;
  if (!hash) throw new Error(`digest type ${digestType} not supported by the test signer`);
  const digest = createHash(hash).update(wireName(owner)).update(key.rdata).digest();
  return { keyTag: key.keyTag, algorithm: key.algorithm, digestType, digest };
}

/** DS presentation lines for a trust-anchor file (what DNSSEC_TRUST_ANCHORS and delv read). */
export function trustAnchorLines(owner: string, keys: TestKey[], digestType = 2): string {
  const name = canonical(owner) === '' ? '.' : `${canonical(owner)}.`;
  return keys
    .map((k) => {
      const ds = dsFor(owner, k, digestType);
      return `${name} 3600 IN DS ${ds.keyTag} ${ds.algorithm} ${ds.digestType} ${Buffer.from(
        ds.digest as Uint8Array,
      )
        .toString('hex')
        .toUpperCase()}`;
    })
    .join('\n');
}

function signBytes(key: TestKey, data: Buffer): Buffer {
  const hash = HASH[key.algorithm];
  if (hash === undefined) throw new Error(`cannot sign with algorithm ${key.algorithm}`);
  if (key.algorithm === 13 || key.algorithm === 14)
    return sign(hash, data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return sign(hash, data, key.privateKey);
}

export type Denial =
  | 'nsec'
  | 'none'
  | { nsec3: { iterations?: number; salt?: Uint8Array; optOut?: boolean } };

/** What to do to one RRset's signatures; return undefined for "sign normally". */
export interface SignatureTamper {
  /** Leave the RRset unsigned. */
  omit?: boolean;
  inception?: number;
  expiration?: number;
  /** Sign with these keys instead (for example one not published in the DNSKEY RRset). */
  keys?: TestKey[];
  /** Flip a bit of the signature. */
  corrupt?: boolean;
  /** Claim another algorithm number in the RRSIG (an algorithm no validator knows, say 200). */
  algorithm?: number;
}

export interface SignZoneOptions {
  /** Signing keys: SEP keys (flags 257) sign the DNSKEY RRset, the others everything else; CSKs both. */
  keys: TestKey[];
  /** Published in the DNSKEY RRset without signing anything (pre-published or retiring keys). */
  extraKeys?: TestKey[];
  /** Seconds since the epoch. Defaults: an hour ago, thirty days ahead. */
  inception?: number;
  expiration?: number;
  denial?: Denial;
  /** DS records for signed children, by child name (absolute or relative). */
  childDs?: Record<string, FixtureDs[]>;
  tamper?: (owner: string, type: string) => SignatureTamper | undefined;
  /** Leave these denial records out: NSEC/NSEC3 for the given owner names (original names, not hashes). */
  dropDenialFor?: string[];
}

interface RRset {
  ttl: number;
  rdatas: Buffer[];
}

/** '@' is the apex, names inside the apex are absolute, others are relative (as `ZoneSpec` reads them). */
function absolute(owner: string, apex: string): string {
  if (owner === '@') return apex;
  const name = canonical(owner);
  if (apex === '') return name;
  return isWithin(name, apex) ? name : `${name}.${apex}`;
}

function rrsetOf(
  spec: ZoneSpec,
  rrset: FixtureRRset<RecordType>,
): { ttl: number; values: FixtureValue<RecordType>[] } {
  return Array.isArray(rrset) ? { ttl: spec.ttl ?? 300, values: rrset } : rrset;
}

/** Names in RDATA are signed lower-case (RFC 4034 §6.2); the fixture values are lowered first. */
function lowered<T extends RecordType>(type: T, value: FixtureValue<T>): FixtureValue<T> {
  if (typeof value === 'object' && value !== null && 'rdata' in value) return value;
  if (type === 'CNAME' || type === 'NS' || type === 'PTR')
    return (value as string).toLowerCase() as FixtureValue<T>;
  if (type === 'MX') {
    const mx = value as { preference: number; exchange: string };
    return { ...mx, exchange: mx.exchange.toLowerCase() } as FixtureValue<T>;
  }
  if (type === 'SOA') {
    const s = value as { mname: string; rname: string };
    return { ...s, mname: s.mname.toLowerCase(), rname: s.rname.toLowerCase() } as FixtureValue<T>;
  }
  return value;
}

export function signZone(apexName: string, spec: ZoneSpec, options: SignZoneOptions): ZoneSpec {
  const apex = canonical(apexName);
  const nowSeconds = Math.floor(Date.now() / 1000);
  const inception = options.inception ?? nowSeconds - 3600;
  const expiration = options.expiration ?? nowSeconds + 30 * 86400;
  const nodes = new Map<string, Map<string, RRset>>();
  const put = (owner: string, type: string, set: RRset) => {
    const node = nodes.get(owner) ?? new Map<string, RRset>();
    node.set(type, set);
    nodes.set(owner, node);
  };
  // The SOA exactly as the server builds it (zone-store.ts setZone), so its signature matches.
  const soa = spec.soa ?? {};
  const suffix = apex === '' ? '' : `.${apex}`;
  const soaValue = {
    mname: (soa.mname ?? `ns1${suffix}`).toLowerCase(),
    rname: (soa.rname ?? `hostmaster${suffix}`).toLowerCase(),
    serial: soa.serial ?? 1,
    refresh: soa.refresh ?? 3600,
    retry: soa.retry ?? 600,
    expire: soa.expire ?? 86400,
    minimum: soa.minimum ?? 300,
  };
  put(apex, 'SOA', { ttl: soa.ttl ?? 3600, rdatas: [encodeRdata('SOA', soaValue)] });
  for (const [owner, node] of Object.entries(spec.records ?? {})) {
    const name = absolute(owner, apex);
    for (const [type, raw] of Object.entries(node)) {
      if (type === 'RRSIG' || type === 'NSEC' || type === 'NSEC3') continue;
      const set = rrsetOf(spec, raw as FixtureRRset<RecordType>);
      put(name, type, {
        ttl: set.ttl,
        rdatas: set.values.map((v) => encodeRdata(type as RecordType, lowered(type as RecordType, v))),
      });
    }
  }
  for (const [child, dsList] of Object.entries(options.childDs ?? {})) {
    const name = absolute(child, apex);
    put(name, 'DS', { ttl: spec.ttl ?? 300, rdatas: dsList.map((d) => encodeRdata('DS', d)) });
    // A DS only makes sense at a delegation point: add the NS the fixture left out.
    if (!nodes.get(name)?.has('NS'))
      put(name, 'NS', { ttl: spec.ttl ?? 300, rdatas: [encodeRdata('NS', `ns1.${name}`)] });
  }
  const published = [...options.keys, ...(options.extraKeys ?? [])];
  put(apex, 'DNSKEY', { ttl: 3600, rdatas: published.map((k) => k.rdata) });

  // Delegation points (NS below the apex) and the names they occlude (RFC 4035 §2.2).
  const cuts = new Set(
    [...nodes.entries()].filter(([n, node]) => n !== apex && node.has('NS')).map(([n]) => n),
  );
  const isCut = (name: string) => cuts.has(name);
  const isOccluded = (name: string) => {
    for (let p = parentOf(name); p !== null && p !== apex && isWithin(p, apex); p = parentOf(p))
      if (cuts.has(p)) return true;
    return false;
  };
  const negativeTtl = Math.min(soa.ttl ?? 3600, soaValue.minimum);

  const denial = options.denial ?? 'nsec';
  const dropped = new Set((options.dropDenialFor ?? []).map((n) => absolute(n, apex)));
  const owners = [...nodes.keys()].filter((n) => !isOccluded(n)).sort(compareCanonical);
  if (denial === 'nsec') {
    owners.forEach((owner, i) => {
      const next = owners[(i + 1) % owners.length] as string;
      const types = [...(nodes.get(owner)?.keys() ?? [])];
      const bitmap = encodeTypeBitmap([...types, 'NSEC', 'RRSIG']);
      if (!dropped.has(owner))
        put(owner, 'NSEC', { ttl: negativeTtl, rdatas: [Buffer.concat([wireName(next), bitmap])] });
    });
  } else if (denial !== 'none') {
    const { iterations = 0, salt = new Uint8Array(), optOut = false } = denial.nsec3;
    // RFC 5155 §7.1: every authoritative name and every empty non-terminal gets an NSEC3; with
    // Opt-Out, unsigned delegations (and non-terminals only leading to them) may be left out.
    const included = owners.filter((n) => !(optOut && isCut(n) && !nodes.get(n)?.has('DS')));
    const names = new Set<string>();
    for (const n of included)
      for (let p: string | null = n; p !== null && isWithin(p, apex); p = parentOf(p)) names.add(p);
    const hashed = [...names]
      .map((name) => ({ name, hash: nsec3HashOf(name, salt, iterations) }))
      .sort((a, b) => Buffer.compare(a.hash, b.hash));
    hashed.forEach(({ name, hash }, i) => {
      const next = (hashed[(i + 1) % hashed.length] as { hash: Buffer }).hash;
      const types = [...(nodes.get(name)?.keys() ?? [])];
      const signedHere = types.length > 0 && !(isCut(name) && !types.includes('DS'));
      const bitmap = encodeTypeBitmap(signedHere ? [...types, 'RRSIG'] : types);
      const rdata = Buffer.concat([
        Buffer.from([1, optOut ? 1 : 0, iterations >> 8, iterations & 0xff, salt.length]),
        Buffer.from(salt),
        Buffer.from([next.length]),
        next,
        bitmap,
      ]);
      const owner = apex === '' ? toBase32hex(hash) : `${toBase32hex(hash)}.${apex}`;
      if (!dropped.has(name)) put(owner, 'NSEC3', { ttl: negativeTtl, rdatas: [rdata] });
    });
  }

  const out: Record<string, Record<string, { ttl: number; values: RawRdata[] }>> = {};
  const emit = (owner: string, type: string, ttl: number, rdatas: Buffer[]) => {
    const node = out[owner] ?? {};
    const existing = node[type];
    if (existing) existing.values.push(...rdatas.map((rdata) => ({ rdata })));
    else node[type] = { ttl, values: rdatas.map((rdata) => ({ rdata })) };
    out[owner] = node;
  };
  const zsks = options.keys.filter((k) =>
    k.flags & 0x0001 ? !options.keys.some((o) => !(o.flags & 1)) : true,
  );
  const ksks = options.keys.filter((k) => k.flags & 0x0001);
  for (const [owner, node] of nodes) {
    for (const [type, set] of node) {
      emit(owner, type, set.ttl, set.rdatas);
      // Delegation NS and glue are not signed (RFC 4035 §2.2).
      if (isOccluded(owner) || (isCut(owner) && type !== 'DS' && type !== 'NSEC' && type !== 'NSEC3'))
        continue;
      const t = options.tamper?.(owner, type) ?? {};
      if (t.omit) continue;
      const signers = t.keys ?? (type === 'DNSKEY' ? (ksks.length > 0 ? ksks : options.keys) : zsks);
      for (const key of signers) {
        emit(owner, 'RRSIG', set.ttl, [rrsig(owner, type, set, key, { inception, expiration, ...t }, apex)]);
      }
    }
  }
  return { ...spec, records: out as ZoneSpec['records'] };
}

function rrsig(
  owner: string,
  type: string,
  set: RRset,
  key: TestKey,
  t: SignatureTamper & { inception: number; expiration: number },
  signer: string,
): Buffer {
  const ls = labels(owner);
  const labelCount = ls[0] === '*' ? ls.length - 1 : ls.length;
  const fixed = Buffer.alloc(18);
  fixed.writeUInt16BE(typeCode(type), 0);
  fixed[2] = t.algorithm ?? key.algorithm;
  fixed[3] = labelCount;
  fixed.writeUInt32BE(set.ttl >>> 0, 4);
  fixed.writeUInt32BE(t.expiration >>> 0, 8);
  fixed.writeUInt32BE(t.inception >>> 0, 12);
  fixed.writeUInt16BE(key.keyTag, 16);
  const prefix = Buffer.concat([fixed, wireName(signer)]);
  const ownerWire = wireName(owner);
  const sorted = [...set.rdatas]
    .sort(Buffer.compare)
    .filter((r, i, all) => i === 0 || !r.equals(all[i - 1] as Buffer));
  const rrs = sorted.map((rdata) => {
    const head = Buffer.alloc(10);
    head.writeUInt16BE(typeCode(type), 0);
    head.writeUInt16BE(1, 2);
    head.writeUInt32BE(set.ttl >>> 0, 4);
    head.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([ownerWire, head, rdata]);
  });
  const signature = signBytes(key, Buffer.concat([prefix, ...rrs]));
  if (t.corrupt) signature[signature.length >> 1] = (signature[signature.length >> 1] as number) ^ 0x01;
  return Buffer.concat([prefix, signature]);
}

export { typeName };
