/**
 * A DNSSEC validator that builds the chain of trust itself (RFC 4033-4035, RFC 5155, RFC 6840),
 * from trust anchors down to the zone of each name, asking only the injected `Resolver` (DO and
 * CD set, so a validating upstream hands over bogus data instead of hiding it).
 *
 * Zone cuts are found by asking DS for each name between the deepest trust anchor and the name
 * (the top-down walk of RFC 4035 §5.2): a signed DS RRset is a secure delegation, a proven absence
 * of DS at a delegation point is an insecure one (with the proof kept), and a proven absence
 * anywhere else means there is no cut there. An unsigned delegation is therefore proven, never
 * assumed. Verified zone keys and verified signatures are cached, so scanning many names under the
 * same zones costs one verification per (key, RRset, signature).
 */
import type { KeyObject } from 'node:crypto';
import type { DnsResult, RecordType, Resolver, WireRecord } from '@mailwarden/core';
import {
  algorithmInfo,
  digestInfo,
  dsDigest,
  isSupportedAlgorithm,
  publicKeyOf,
  verifySignature,
} from './algorithms.ts';
import {
  type DenialOutcome,
  type Nsec3Record,
  type NsecRecord,
  proveNsec3NoCloserMatch,
  proveNsec3Nodata,
  proveNsec3Nxdomain,
  proveNsecNoCloserMatch,
  proveNsecNodata,
  proveNsecNxdomain,
} from './denial.ts';
import { IANA_ROOT_TRUST_ANCHORS, type TrustAnchor } from './trust-anchors.ts';
import {
  isAtOrBelow,
  labelsOf,
  nameToWire,
  normaliseName,
  type ParsedDnskey,
  type ParsedRrsig,
  parentName,
  parseDnskey,
  parseDs,
  parseNsec,
  parseNsec3,
  parseRrsig,
  readName,
  rrsigLabelCount,
  type SignedRr,
  serialCompare,
  signedData,
  suffixOf,
  TYPE,
  typeCodeOf,
  typeMnemonic,
} from './wire.ts';

export type Verdict = 'secure' | 'insecure' | 'bogus' | 'indeterminate';

export type BogusReason =
  | 'signature_expired'
  | 'signature_not_yet_valid'
  | 'no_matching_key'
  | 'ds_digest_mismatch'
  | 'unsupported_algorithm'
  | 'missing_signatures'
  | 'invalid_signature'
  | 'broken_denial_proof'
  | 'malformed';

export type InsecureProof =
  /** NSEC at the delegation point: NS present, DS absent (RFC 4035 §5.2). */
  | 'nsec_no_ds'
  /** NSEC3 matching the delegation point: NS present, DS absent (RFC 5155 §8.6). */
  | 'nsec3_no_ds'
  /** The delegation lies in an NSEC3 Opt-Out span (RFC 5155 §6, §8.6). */
  | 'nsec3_opt_out'
  /** The DS RRset lists only algorithms or digests we cannot validate (RFC 4035 §5.2, RFC 6840 §5.2). */
  | 'unsupported_ds_algorithms'
  /** The proof needs more NSEC3 iterations than NSEC3_MAX_ITERATIONS (RFC 9276 §3.2). */
  | 'nsec3_iterations_over_cap'
  /** No configured trust anchor is an ancestor of the name. */
  | 'no_trust_anchor';

export interface SignatureFacts {
  owner: string;
  type: string;
  signer: string;
  algorithm: number;
  keyTag: number;
  /** Seconds since the epoch (RFC 4034 §3.1.5, already unwrapped against `now`). */
  inception: number;
  expiration: number;
}

export interface DenialFacts {
  via: 'nsec' | 'nsec3';
  /** The NSEC/NSEC3 owner names that make the proof. */
  records: string[];
  nsec3?: { iterations: number; saltLength: number; optOut: boolean };
}

/** One link of the chain of trust: how trust passed (or did not) from `parent` into `zone`. */
export interface ChainLink {
  zone: string;
  /** null for the trust anchor itself. */
  parent: string | null;
  verdict: Verdict;
  reason?: BogusReason;
  insecureProof?: InsecureProof;
  detail?: string;
  /** DS records at the parent (or anchor DS records) for this zone. */
  ds: { keyTag: number; algorithm: number; digestType: number; matched: boolean }[];
  dnskeys: { keyTag: number; algorithm: number; flags: number; sep: boolean }[];
  /** Signatures that validated the DS and DNSKEY RRsets. */
  signatures: SignatureFacts[];
  denial?: DenialFacts;
}

export interface ChainResult {
  name: string;
  /** The deepest zone reached: the zone holding `name` unless the walk stopped above it. */
  zone: string;
  verdict: Verdict;
  reason?: BogusReason;
  insecureProof?: InsecureProof;
  detail?: string;
  links: ChainLink[];
}

export interface RRsetVerdict {
  owner: string;
  type: string;
  zone: string;
  verdict: Verdict;
  reason?: BogusReason;
  detail?: string;
  signature?: SignatureFacts;
  /** Set when the RRset was synthesised from a wildcard (RFC 4035 §5.3.4). */
  wildcard?: string;
}

export interface AnswerVerdict {
  name: string;
  type: string;
  verdict: Verdict;
  reason?: BogusReason;
  insecureProof?: InsecureProof;
  detail?: string;
  /** The chain of the zone holding the final name (after CNAMEs). */
  chain: ChainResult | null;
  rrsets: RRsetVerdict[];
  /** For NXDOMAIN and NODATA: the proof. */
  denial?: DenialFacts & { outcome: DenialOutcome['kind'] };
  /** Every signature the verdict rests on: the answer's and its chain's. */
  signatures: SignatureFacts[];
}

export interface DnssecValidatorOptions {
  /** Default: the IANA root anchors. */
  trustAnchors?: readonly TrustAnchor[];
  now?: () => Date;
  /** Upper bound on how long validated keys and cuts are reused, seconds. Default 3600. */
  maxCacheSeconds?: number;
}

export interface DnssecValidator {
  /** Asks `name`/`type` with DO and CD, and validates the answer or the denial. */
  query<T extends RecordType>(
    name: string,
    type: T,
  ): Promise<{ result: DnsResult<T>; verdict: AnswerVerdict }>;
  /** Validates a result the caller asked with `dnssecOk` and `checkingDisabled`. */
  validateResult(result: DnsResult<RecordType>): Promise<AnswerVerdict>;
  /** The chain of trust down to the zone holding `name`. */
  chain(name: string): Promise<ChainResult>;
  /** Counters for benchmarks and tests. */
  stats(): { verifications: number; verificationCacheHits: number; zoneCacheEntries: number };
}

/** RFC 4034 §2.1.1 Zone Key, RFC 4034 §2.1.1 SEP, RFC 5011 §3 REVOKE. */
const FLAG_ZONE = 0x0100;
const FLAG_SEP = 0x0001;
const FLAG_REVOKE = 0x0080;
/** Bounds the work one RRset can cause (the "KeyTrap" attacks, CVE-2023-50387). */
const MAX_SIGNATURES_TRIED = 8;
const MAX_KEYS_PER_SIGNATURE = 4;
const MAX_DNSKEYS = 64;
/** More labels than any mail name has; bounds the DS walk. */
const MAX_WALK_LABELS = 32;
const MAX_ALIASES = 10;
const MAX_CACHE_ENTRIES = 200_000;
const QUERY = { dnssecOk: true, checkingDisabled: true } as const;

interface ValidKey {
  parsed: ParsedDnskey;
  key: KeyObject | null;
}
interface ZoneState {
  zone: string;
  verdict: Verdict;
  keys: ValidKey[];
  links: ChainLink[];
  reason?: BogusReason;
  insecureProof?: InsecureProof;
  detail?: string;
}
type Cut =
  | { kind: 'zone'; state: ZoneState }
  | { kind: 'none' }
  | { kind: 'nxdomain' }
  | { kind: 'stop'; state: ZoneState };

interface Entry<V> {
  value: Promise<V>;
  expiresAtMs: number;
}

interface RRsetGroup {
  owner: string;
  typeCode: number;
  ttl: number;
  rrs: SignedRr[];
  sigs: ParsedRrsig[];
}

type VerifyOutcome =
  | { ok: true; signature: SignatureFacts }
  | { ok: false; reason: BogusReason; detail: string };

const REASON_PRIORITY: BogusReason[] = [
  'signature_expired',
  'signature_not_yet_valid',
  'invalid_signature',
  'no_matching_key',
  'unsupported_algorithm',
  'malformed',
  'missing_signatures',
];

function groupRecords(records: readonly WireRecord[]): Map<string, RRsetGroup> {
  const groups = new Map<string, RRsetGroup>();
  const sigs: { owner: string; sig: ParsedRrsig }[] = [];
  for (const rr of records) {
    const owner = normaliseName(rr.name);
    if (rr.typeCode === TYPE.RRSIG) {
      const sig = parseRrsig(rr.rdata);
      if (sig) sigs.push({ owner, sig });
      continue;
    }
    const key = `${owner}|${rr.typeCode}`;
    const group = groups.get(key) ?? { owner, typeCode: rr.typeCode, ttl: rr.ttl, rrs: [], sigs: [] };
    group.rrs.push({ typeCode: rr.typeCode, rdata: rr.rdata });
    group.ttl = Math.min(group.ttl, rr.ttl);
    groups.set(key, group);
  }
  for (const { owner, sig } of sigs) groups.get(`${owner}|${sig.typeCovered}`)?.sigs.push(sig);
  return groups;
}

/** Unwraps a 32-bit signature time to the epoch second nearest `nowSeconds` (RFC 4034 §3.1.5). */
function unwrapTime(value: number, nowSeconds: number): number {
  const base = nowSeconds - (nowSeconds % 0x1_0000_0000);
  const candidates = [base - 0x1_0000_0000, base, base + 0x1_0000_0000].map((b) => b + value);
  return candidates.reduce((best, c) => (Math.abs(c - nowSeconds) < Math.abs(best - nowSeconds) ? c : best));
}

function worst(verdicts: Verdict[]): Verdict {
  for (const v of ['bogus', 'indeterminate', 'insecure'] as const) if (verdicts.includes(v)) return v;
  return 'secure';
}

export function createDnssecValidator(
  resolver: Resolver,
  options: DnssecValidatorOptions = {},
): DnssecValidator {
  const anchors = options.trustAnchors ?? IANA_ROOT_TRUST_ANCHORS;
  const now = options.now ?? (() => new Date());
  const maxCacheMs = (options.maxCacheSeconds ?? 3600) * 1000;
  /**
   * Keyed by the signature; the key RDATA and signed data are kept and compared byte for byte, so
   * a signature replayed over other data or with another key never hits.
   */
  const verificationCache = new Map<string, { keyRdata: Buffer; data: Buffer; ok: boolean }>();
  /** Resolved chains by name, so a warm scan reaches its zone keys without a walk. */
  const chains = new Map<string, { value: ChainResult; expiresAtMs: number }>();
  /** Zone states the chain reached securely, by zone. */
  const secureStates = new Map<string, ZoneState>();
  /**
   * Verdicts of responses already validated, by question. A response whose records are byte for
   * byte the same (RRSIGs included) gets the same verdict without re-verifying, while its chain is
   * still cached and its signatures are still inside their validity periods: the per (key, RRset,
   * signature) cache, one step earlier.
   */
  const answers = new Map<
    string,
    {
      answer: WireRecord[];
      authority: WireRecord[];
      verdict: AnswerVerdict;
      validFrom: number;
      validUntil: number;
      expiresAtMs: number;
    }
  >();
  const zoneStates = new Map<string, Entry<ZoneState>>();
  const cuts = new Map<string, Entry<Cut>>();
  const counters = { verifications: 0, verificationCacheHits: 0 };

  function memo<V>(
    map: Map<string, Entry<V>>,
    key: string,
    make: () => Promise<{ value: V; ttlSeconds: number | null }>,
  ): Promise<V> {
    const nowMs = now().getTime();
    const hit = map.get(key);
    if (hit && hit.expiresAtMs > nowMs) return hit.value;
    if (map.size >= MAX_CACHE_ENTRIES) map.clear();
    const entry: Entry<V> = { value: Promise.resolve(undefined as V), expiresAtMs: Number.POSITIVE_INFINITY };
    entry.value = make().then(({ value, ttlSeconds }) => {
      // Failures to know are never remembered (DESIGN.md §3): the next scan asks again.
      if (ttlSeconds === null) map.delete(key);
      else entry.expiresAtMs = now().getTime() + Math.min(ttlSeconds * 1000, maxCacheMs);
      return value;
    });
    map.set(key, entry);
    return entry.value;
  }

  function cachedVerify(key: ValidKey, data: Buffer, sig: ParsedRrsig): boolean {
    const id = `${key.parsed.keyTag}/${sig.signature.toString('base64')}`;
    const known = verificationCache.get(id);
    if (known?.keyRdata.equals(key.parsed.rdata) && known.data.equals(data)) {
      counters.verificationCacheHits++;
      return known.ok;
    }
    counters.verifications++;
    const ok = key.key !== null && verifySignature(sig.algorithm, key.key, data, sig.signature);
    if (verificationCache.size >= MAX_CACHE_ENTRIES) verificationCache.clear();
    verificationCache.set(id, { keyRdata: key.parsed.rdata, data, ok });
    return ok;
  }

  /**
   * RFC 4035 §5.3: an RRset is secure when one RRSIG by the zone, within its validity period,
   * verifies with one of the zone's keys. Every failure is remembered so the verdict can name the
   * most telling one.
   */
  function verifyRRset(group: RRsetGroup, zone: string, keys: ValidKey[]): VerifyOutcome {
    const nowSeconds = Math.floor(now().getTime() / 1000);
    const failures = new Map<BogusReason, string>();
    const type = typeMnemonic(group.typeCode);
    const note = (reason: BogusReason, detail: string) => {
      if (!failures.has(reason)) failures.set(reason, detail);
    };
    const ownLabels = rrsigLabelCount(group.owner);
    const candidates = group.sigs.filter((s) => s.signerName === zone);
    if (group.sigs.length > 0 && candidates.length === 0) {
      note(
        'missing_signatures',
        `${group.owner} ${type} is signed by ${group.sigs[0]?.signerName}, not by its zone ${zone}`,
      );
    }
    for (const sig of candidates.slice(0, MAX_SIGNATURES_TRIED)) {
      if (!isSupportedAlgorithm(sig.algorithm)) {
        note(
          'unsupported_algorithm',
          `RRSIG algorithm ${sig.algorithm} (${algorithmInfo(sig.algorithm).mnemonic}) cannot be validated`,
        );
        continue;
      }
      if (sig.labels > ownLabels) {
        note('malformed', `RRSIG Labels ${sig.labels} exceeds the ${ownLabels} labels of ${group.owner}`);
        continue;
      }
      const matching = keys.filter(
        (k) => k.parsed.keyTag === sig.keyTag && k.parsed.algorithm === sig.algorithm,
      );
      if (matching.length === 0) {
        note(
          'no_matching_key',
          `no DNSKEY of ${zone} with key tag ${sig.keyTag} and algorithm ${sig.algorithm}`,
        );
        continue;
      }
      const facts: SignatureFacts = {
        owner: group.owner,
        type,
        signer: sig.signerName,
        algorithm: sig.algorithm,
        keyTag: sig.keyTag,
        inception: unwrapTime(sig.inception, nowSeconds),
        expiration: unwrapTime(sig.expiration, nowSeconds),
      };
      // RFC 4034 §3.1.5 with RFC 1982 serial arithmetic.
      if (serialCompare(sig.expiration, nowSeconds >>> 0) < 0) {
        note(
          'signature_expired',
          `RRSIG ${type} by ${sig.keyTag} expired ${new Date(facts.expiration * 1000).toISOString()}`,
        );
        continue;
      }
      if (serialCompare(sig.inception, nowSeconds >>> 0) > 0) {
        note(
          'signature_not_yet_valid',
          `RRSIG ${type} by ${sig.keyTag} is valid only from ${new Date(facts.inception * 1000).toISOString()}`,
        );
        continue;
      }
      const data = signedData(sig, group.owner, group.rrs);
      for (const key of matching.slice(0, MAX_KEYS_PER_SIGNATURE)) {
        if (cachedVerify(key, data, sig)) return { ok: true, signature: facts };
      }
      note('invalid_signature', `RRSIG ${group.owner} ${type} does not verify with key ${sig.keyTag}`);
    }
    if (candidates.length === 0 && failures.size === 0) {
      note('missing_signatures', `${group.owner} ${type} has no RRSIG`);
    }
    for (const reason of REASON_PRIORITY) {
      const detail = failures.get(reason);
      if (detail !== undefined) return { ok: false, reason, detail };
    }
    return { ok: false, reason: 'missing_signatures', detail: `${group.owner} ${type} has no usable RRSIG` };
  }

  function zoneKeysOf(group: RRsetGroup | undefined): ValidKey[] {
    const keys: ValidKey[] = [];
    for (const rr of group?.rrs.slice(0, MAX_DNSKEYS) ?? []) {
      const parsed = parseDnskey(rr.rdata);
      // RFC 4034 §2.1.1-2.1.2: only zone keys with protocol 3 sign zone data.
      if (parsed?.protocol !== 3 || (parsed.flags & FLAG_ZONE) === 0) continue;
      keys.push({ parsed, key: publicKeyOf(parsed.algorithm, parsed.publicKey) });
    }
    return keys;
  }

  function keyFacts(keys: ValidKey[]) {
    return keys.map((k) => ({
      keyTag: k.parsed.keyTag,
      algorithm: k.parsed.algorithm,
      flags: k.parsed.flags,
      sep: (k.parsed.flags & FLAG_SEP) !== 0,
    }));
  }

  function stopped(
    zone: string,
    parent: string | null,
    links: ChainLink[],
    link: Omit<ChainLink, 'zone' | 'parent'>,
  ): ZoneState {
    const full: ChainLink = { zone, parent, ...link };
    return {
      zone,
      verdict: link.verdict,
      keys: [],
      links: [...links, full],
      ...(link.reason ? { reason: link.reason } : {}),
      ...(link.insecureProof ? { insecureProof: link.insecureProof } : {}),
      ...(link.detail ? { detail: link.detail } : {}),
    };
  }

  /**
   * Fetches the DNSKEY RRset of `zone` and accepts it when a key that a DS (or anchor) vouches for
   * signs it (RFC 4035 §5.2). `ds` are the already-trusted DS records, or the anchor.
   */
  async function enterZone(
    zone: string,
    parent: string | null,
    links: ChainLink[],
    ds: { keyTag: number; algorithm: number; digestType: number; digest: Buffer }[],
    dnskeyAnchors: Buffer[],
    extra: Pick<ChainLink, 'signatures'>,
  ): Promise<{ value: ZoneState; ttlSeconds: number | null }> {
    const dsFacts = ds.map((d) => ({
      keyTag: d.keyTag,
      algorithm: d.algorithm,
      digestType: d.digestType,
      matched: false,
    }));
    const base = { ds: dsFacts, dnskeys: [] as ChainLink['dnskeys'], signatures: [...extra.signatures] };
    const result = await resolver.query(zone === '.' ? '.' : zone, 'DNSKEY', QUERY);
    if (result.status === 'unknown') {
      return {
        value: stopped(zone, parent, links, {
          ...base,
          verdict: 'indeterminate',
          detail: `DNSKEY ${zone}: ${result.reason}`,
        }),
        ttlSeconds: null,
      };
    }
    const group = result.dnssec
      ? groupRecords(result.dnssec.answer).get(`${zone}|${TYPE.DNSKEY}`)
      : undefined;
    if (result.status !== 'answer' || !group) {
      const detail = `${zone} publishes no DNSKEY RRset, yet its parent vouches for keys`;
      return {
        value: stopped(zone, parent, links, { ...base, verdict: 'bogus', reason: 'no_matching_key', detail }),
        ttlSeconds: 60,
      };
    }
    const keys = zoneKeysOf(group);
    base.dnskeys = keyFacts(keys);
    const trusted: ValidKey[] = [];
    let digestMismatch = false;
    const ownerWire = nameToWire(zone);
    for (const key of keys) {
      if ((key.parsed.flags & FLAG_REVOKE) !== 0) continue;
      if (dnskeyAnchors.some((a) => a.equals(key.parsed.rdata))) trusted.push(key);
      for (const [i, d] of ds.entries()) {
        if (d.keyTag !== key.parsed.keyTag || d.algorithm !== key.parsed.algorithm) continue;
        const digest = dsDigest(d.digestType, ownerWire, key.parsed.rdata);
        if (digest?.equals(d.digest)) {
          trusted.push(key);
          (dsFacts[i] as (typeof dsFacts)[number]).matched = true;
        } else if (digest) digestMismatch = true;
      }
    }
    if (trusted.length === 0) {
      const reason: BogusReason = digestMismatch ? 'ds_digest_mismatch' : 'no_matching_key';
      const detail = digestMismatch
        ? `the DS digest does not match the DNSKEY of ${zone} with the same key tag`
        : `no DNSKEY of ${zone} matches a DS record (${ds.map((d) => d.keyTag).join(', ') || 'anchor'})`;
      return {
        value: stopped(zone, parent, links, { ...base, verdict: 'bogus', reason, detail }),
        ttlSeconds: group.ttl,
      };
    }
    const verified = verifyRRset(group, zone, trusted);
    if (!verified.ok) {
      return {
        value: stopped(zone, parent, links, {
          ...base,
          verdict: 'bogus',
          reason: verified.reason,
          detail: verified.detail,
        }),
        ttlSeconds: group.ttl,
      };
    }
    base.signatures.push(verified.signature);
    const link: ChainLink = { zone, parent, verdict: 'secure', ...base };
    return { value: { zone, verdict: 'secure', keys, links: [...links, link] }, ttlSeconds: group.ttl };
  }

  function anchorState(zone: string): Promise<ZoneState> {
    return memo(zoneStates, zone, async () => {
      const mine = anchors.filter((a) => a.owner === zone);
      const ds = mine.flatMap((a) => (a.kind === 'DS' ? [a] : []));
      const supportedDs = ds.filter(
        (d) => isSupportedAlgorithm(d.algorithm) && digestInfo(d.digestType).status !== 'unsupported',
      );
      const keys = mine.flatMap((a) =>
        a.kind === 'DNSKEY' && isSupportedAlgorithm(a.algorithm) ? [a.rdata] : [],
      );
      if (supportedDs.length === 0 && keys.length === 0) {
        const link = {
          ds: [],
          dnskeys: [],
          signatures: [],
          verdict: 'insecure' as const,
          insecureProof: 'unsupported_ds_algorithms' as const,
        };
        return {
          value: stopped(zone, null, [], {
            ...link,
            detail: `no trust anchor for ${zone} uses a supported algorithm`,
          }),
          ttlSeconds: 3600,
        };
      }
      return enterZone(zone, null, [], supportedDs, keys, { signatures: [] });
    });
  }

  /** Validates the NSEC/NSEC3 RRsets of a denial against the zone's keys. */
  function denialRecords(
    authority: readonly WireRecord[],
    state: ZoneState,
  ): {
    nsec: NsecRecord[];
    nsec3: Nsec3Record[];
    signatures: SignatureFacts[];
    failure?: VerifyOutcome & { ok: false };
  } {
    const nsec: NsecRecord[] = [];
    const nsec3: Nsec3Record[] = [];
    const signatures: SignatureFacts[] = [];
    for (const group of groupRecords(authority).values()) {
      if (group.typeCode !== TYPE.NSEC && group.typeCode !== TYPE.NSEC3) continue;
      if (!isAtOrBelow(group.owner, state.zone)) continue;
      const verified = verifyRRset(group, state.zone, state.keys);
      if (!verified.ok) return { nsec, nsec3, signatures, failure: verified };
      signatures.push(verified.signature);
      for (const rr of group.rrs) {
        if (group.typeCode === TYPE.NSEC) {
          const parsed = parseNsec(rr.rdata);
          if (parsed) nsec.push({ owner: group.owner, nsec: parsed });
        } else {
          const parsed = parseNsec3(rr.rdata);
          if (parsed) nsec3.push({ owner: group.owner, nsec3: parsed });
        }
      }
    }
    return { nsec, nsec3, signatures };
  }

  function denialFacts(outcome: DenialOutcome, nsec3: Nsec3Record[]): DenialFacts | undefined {
    if (outcome.kind === 'failed') return undefined;
    const via = outcome.kind === 'iterations_over_cap' ? 'nsec3' : outcome.via;
    const first = nsec3.find((r) => outcome.records.includes(r.owner)) ?? nsec3[0];
    return {
      via,
      records: outcome.records,
      ...(via === 'nsec3' && first
        ? {
            nsec3: {
              iterations: first.nsec3.iterations,
              saltLength: first.nsec3.salt.length,
              optOut: (first.nsec3.flags & 1) === 1,
            },
          }
        : {}),
    };
  }

  /** RFC 4035 §5.2: what the parent zone says about a cut at `name`. */
  function cutAt(state: ZoneState, name: string): Promise<Cut> {
    return memo(cuts, name, async () => {
      const result = await resolver.query(name, 'DS', QUERY);
      const parent = state.zone;
      const links = state.links;
      const none = { ds: [], dnskeys: [], signatures: [] };
      if (result.status === 'unknown') {
        return {
          value: {
            kind: 'stop',
            state: stopped(name, parent, links, {
              ...none,
              verdict: 'indeterminate',
              detail: `DS ${name}: ${result.reason}`,
            }),
          },
          ttlSeconds: null,
        };
      }
      // An alias is never a zone cut (RFC 2181 §10.1: no other data beside a CNAME).
      if (result.cnameChain.length > 0) return { value: { kind: 'none' }, ttlSeconds: result.ttlSeconds };
      const sections = result.dnssec ?? { answer: [], authority: [] };
      if (result.status === 'answer') {
        const group = groupRecords(sections.answer).get(`${name}|${TYPE.DS}`);
        if (!group) {
          return {
            value: {
              kind: 'stop',
              state: stopped(name, parent, links, {
                ...none,
                verdict: 'bogus',
                reason: 'malformed',
                detail: `DS answer for ${name} without DS records`,
              }),
            },
            ttlSeconds: 60,
          };
        }
        const verified = verifyRRset(group, parent, state.keys);
        if (!verified.ok) {
          return {
            value: {
              kind: 'stop',
              state: stopped(name, parent, links, {
                ...none,
                verdict: 'bogus',
                reason: verified.reason,
                detail: verified.detail,
              }),
            },
            ttlSeconds: group.ttl,
          };
        }
        const ds = group.rrs.flatMap((rr) => {
          const parsed = parseDs(rr.rdata);
          return parsed ? [parsed] : [];
        });
        // RFC 4035 §5.2, RFC 6840 §5.2: only DS we can use count; none usable means insecure.
        const usable = ds.filter(
          (d) => isSupportedAlgorithm(d.algorithm) && digestInfo(d.digestType).status !== 'unsupported',
        );
        if (usable.length === 0) {
          const link = {
            ds: ds.map((d) => ({
              keyTag: d.keyTag,
              algorithm: d.algorithm,
              digestType: d.digestType,
              matched: false,
            })),
            dnskeys: [],
            signatures: [verified.signature],
            verdict: 'insecure' as const,
            insecureProof: 'unsupported_ds_algorithms' as const,
            detail: `DS for ${name} lists only algorithms ${[...new Set(ds.map((d) => `${d.algorithm}/${d.digestType}`))].join(', ')}, which cannot be validated`,
          };
          return {
            value: { kind: 'stop', state: stopped(name, parent, links, link) },
            ttlSeconds: group.ttl,
          };
        }
        const entered = await enterZone(name, parent, links, usable, [], {
          signatures: [verified.signature],
        });
        const kind = entered.value.verdict === 'secure' ? 'zone' : 'stop';
        const ttl = entered.ttlSeconds === null ? null : Math.min(entered.ttlSeconds, group.ttl);
        return { value: { kind, state: entered.value } as Cut, ttlSeconds: ttl };
      }
      const proof = denialRecords(sections.authority, state);
      if (proof.failure) {
        const { reason, detail } = proof.failure;
        return {
          value: {
            kind: 'stop',
            state: stopped(name, parent, links, {
              ...none,
              verdict: 'bogus',
              reason,
              detail: `denial of DS ${name}: ${detail}`,
            }),
          },
          ttlSeconds: 60,
        };
      }
      let outcome: DenialOutcome;
      if (proof.nsec.length === 0 && proof.nsec3.length === 0)
        outcome = { kind: 'failed', detail: `no signed NSEC or NSEC3 records deny DS ${name}` };
      else if (result.status === 'nxdomain') {
        outcome =
          proof.nsec.length > 0
            ? proveNsecNxdomain(proof.nsec, name, parent)
            : proveNsec3Nxdomain(proof.nsec3, name, parent);
      } else {
        outcome =
          proof.nsec.length > 0
            ? proveNsecNodata(proof.nsec, name, TYPE.DS)
            : proveNsec3Nodata(proof.nsec3, name, TYPE.DS, parent);
      }
      const ttl = result.ttlSeconds;
      const denial = denialFacts(outcome, proof.nsec3);
      const withDenial = { ...none, signatures: proof.signatures, ...(denial ? { denial } : {}) };
      switch (outcome.kind) {
        case 'nxdomain':
          return { value: { kind: 'nxdomain' }, ttlSeconds: ttl };
        case 'nodata':
          return { value: { kind: 'none' }, ttlSeconds: ttl };
        case 'insecure_delegation': {
          const insecureProof: InsecureProof =
            outcome.via === 'nsec' ? 'nsec_no_ds' : outcome.optOut ? 'nsec3_opt_out' : 'nsec3_no_ds';
          const detail = `${parent} proves that ${name} has no DS (${insecureProof})`;
          return {
            value: {
              kind: 'stop',
              state: stopped(name, parent, links, {
                ...withDenial,
                verdict: 'insecure',
                insecureProof,
                detail,
              }),
            },
            ttlSeconds: ttl,
          };
        }
        case 'iterations_over_cap': {
          const detail = `NSEC3 with ${outcome.iterations} iterations: treated as insecure (RFC 9276 §3.2)`;
          return {
            value: {
              kind: 'stop',
              state: stopped(name, parent, links, {
                ...withDenial,
                verdict: 'insecure',
                insecureProof: 'nsec3_iterations_over_cap',
                detail,
              }),
            },
            ttlSeconds: ttl,
          };
        }
        case 'failed':
          return {
            value: {
              kind: 'stop',
              state: stopped(name, parent, links, {
                ...none,
                verdict: 'bogus',
                reason: 'broken_denial_proof',
                detail: outcome.detail,
              }),
            },
            ttlSeconds: 60,
          };
      }
    });
  }

  function chainResult(name: string, state: ZoneState): ChainResult {
    if (state.verdict === 'secure') secureStates.set(state.zone, state);
    return {
      name,
      zone: state.zone,
      verdict: state.verdict,
      ...(state.reason ? { reason: state.reason } : {}),
      ...(state.insecureProof ? { insecureProof: state.insecureProof } : {}),
      ...(state.detail ? { detail: state.detail } : {}),
      links: state.links,
    };
  }

  async function chain(input: string): Promise<ChainResult> {
    const name = normaliseName(input);
    const nowMs = now().getTime();
    const hit = chains.get(name);
    if (hit && hit.expiresAtMs > nowMs) return hit.value;
    const value = await walk(name);
    // The chain lives as long as the shortest-lived cut or key set it rests on.
    let expiresAtMs = nowMs + maxCacheMs;
    for (let n: string | null = name; n !== null; n = parentName(n)) {
      const entry = cuts.get(n) ?? zoneStates.get(n);
      if (entry) expiresAtMs = Math.min(expiresAtMs, entry.expiresAtMs);
    }
    if (value.verdict !== 'indeterminate' && Number.isFinite(expiresAtMs)) {
      if (chains.size >= MAX_CACHE_ENTRIES) chains.clear();
      chains.set(name, { value, expiresAtMs });
    }
    return value;
  }

  async function walk(name: string): Promise<ChainResult> {
    const anchorZone = anchors
      .map((a) => a.owner)
      .filter((owner) => isAtOrBelow(name, owner))
      .sort((a, b) => labelsOf(b).length - labelsOf(a).length)[0];
    if (anchorZone === undefined) {
      return {
        name,
        zone: '.',
        verdict: 'insecure',
        insecureProof: 'no_trust_anchor',
        detail: `no trust anchor above ${name}`,
        links: [],
      };
    }
    let state = await anchorState(anchorZone);
    const depth = labelsOf(name).length;
    if (depth > MAX_WALK_LABELS) {
      return {
        name,
        zone: state.zone,
        verdict: 'bogus',
        reason: 'malformed',
        detail: `more than ${MAX_WALK_LABELS} labels`,
        links: state.links,
      };
    }
    for (let n = labelsOf(anchorZone).length + 1; n <= depth && state.verdict === 'secure'; n++) {
      const cut = await cutAt(state, suffixOf(name, n));
      if (cut.kind === 'nxdomain') break;
      if (cut.kind === 'zone' || cut.kind === 'stop') state = cut.state;
    }
    return chainResult(name, state);
  }

  /** The zone whose data an RRset is: the parent side for DS (RFC 4035 §2.4). */
  function chainForOwner(owner: string, typeCode: number): Promise<ChainResult> {
    return chain(typeCode === TYPE.DS ? (parentName(owner) ?? '.') : owner);
  }

  async function validateRRset(
    group: RRsetGroup,
    authority: readonly WireRecord[],
  ): Promise<{ verdict: RRsetVerdict; chain: ChainResult; signatures: SignatureFacts[] }> {
    const c = await chainForOwner(group.owner, group.typeCode);
    const type = typeMnemonic(group.typeCode);
    const base = { owner: group.owner, type, zone: c.zone };
    if (c.verdict !== 'secure') {
      const verdict: RRsetVerdict = {
        ...base,
        verdict: c.verdict,
        ...(c.reason ? { reason: c.reason } : {}),
        ...(c.detail ? { detail: c.detail } : {}),
      };
      return { verdict, chain: c, signatures: [] };
    }
    const state = memoedState(c.zone);
    const verified = verifyRRset(group, c.zone, state?.keys ?? []);
    if (!verified.ok)
      return {
        verdict: { ...base, verdict: 'bogus', reason: verified.reason, detail: verified.detail },
        chain: c,
        signatures: [],
      };
    const signatures = [verified.signature];
    const sig = group.sigs.find(
      (s) => s.keyTag === verified.signature.keyTag && s.algorithm === verified.signature.algorithm,
    );
    // RFC 4035 §5.3.4: a wildcard expansion is secure only with proof that no closer match exists.
    if (sig && sig.labels < rrsigLabelCount(group.owner) && state) {
      const encloser = suffixOf(group.owner, sig.labels);
      const wildcard = encloser === '.' ? '*' : `*.${encloser}`;
      const proof = denialRecords(authority, state);
      if (proof.failure)
        return {
          verdict: {
            ...base,
            verdict: 'bogus',
            reason: proof.failure.reason,
            detail: proof.failure.detail,
            wildcard,
          },
          chain: c,
          signatures,
        };
      const outcome =
        proof.nsec.length > 0
          ? proveNsecNoCloserMatch(proof.nsec, group.owner)
          : proof.nsec3.length > 0
            ? proveNsec3NoCloserMatch(proof.nsec3, group.owner, encloser, c.zone)
            : ({
                kind: 'failed',
                detail: `wildcard answer for ${group.owner} without NSEC or NSEC3 proof`,
              } as const);
      if (outcome.kind === 'failed') {
        return {
          verdict: {
            ...base,
            verdict: 'bogus',
            reason: 'broken_denial_proof',
            detail: outcome.detail,
            wildcard,
          },
          chain: c,
          signatures,
        };
      }
      if (outcome.kind === 'iterations_over_cap') {
        return {
          verdict: { ...base, verdict: 'insecure', detail: 'NSEC3 iterations over the cap', wildcard },
          chain: c,
          signatures,
        };
      }
      signatures.push(...proof.signatures);
      return {
        verdict: { ...base, verdict: 'secure', signature: verified.signature, wildcard },
        chain: c,
        signatures,
      };
    }
    return { verdict: { ...base, verdict: 'secure', signature: verified.signature }, chain: c, signatures };
  }

  /** The cached state of a zone the chain reached securely. */
  function memoedState(zone: string): ZoneState | undefined {
    return secureStates.get(zone);
  }

  /** RFC 6672 §5.3.3: a CNAME synthesised from a signed DNAME needs no signature of its own. */
  function dnameTarget(
    groups: Map<string, RRsetGroup>,
    name: string,
  ): { group: RRsetGroup; target: string } | null {
    for (let p = parentName(name); p !== null; p = parentName(p)) {
      const group = groups.get(`${p}|${TYPE.DNAME}`);
      const rr = group?.rrs[0];
      if (!group || !rr) continue;
      const target = readName(rr.rdata, 0);
      if (!target) return null;
      const prefix = name === p ? '' : name.slice(0, name.length - (p === '.' ? 0 : p.length + 1));
      const next = target.name === '.' ? prefix : prefix === '' ? target.name : `${prefix}.${target.name}`;
      return { group, target: next };
    }
    return null;
  }

  function sameRecords(a: readonly WireRecord[], b: readonly WireRecord[]): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const x = a[i] as WireRecord;
      const y = b[i] as WireRecord;
      if (x.typeCode !== y.typeCode || x.name !== y.name || Buffer.compare(x.rdata, y.rdata) !== 0)
        return false;
    }
    return true;
  }

  async function validateResult(result: DnsResult<RecordType>): Promise<AnswerVerdict> {
    if (result.status === 'unknown' || !result.dnssec) return validateFresh(result);
    const key = `${result.type}|${normaliseName(result.name)}|${result.status}`;
    const { answer, authority } = result.dnssec;
    const nowMs = now().getTime();
    const nowSeconds = Math.floor(nowMs / 1000);
    const hit = answers.get(key);
    if (
      hit &&
      hit.expiresAtMs > nowMs &&
      nowSeconds >= hit.validFrom &&
      nowSeconds <= hit.validUntil &&
      sameRecords(hit.answer, answer) &&
      sameRecords(hit.authority, authority)
    ) {
      return hit.verdict;
    }
    const verdict = await validateFresh(result);
    // Only settled verdicts are reused; bogus and indeterminate ones are always worked out again.
    if (verdict.verdict === 'secure' || verdict.verdict === 'insecure') {
      let expiresAtMs = nowMs + maxCacheMs;
      for (const owner of [verdict.name, ...verdict.rrsets.map((r) => r.owner)]) {
        const entry = chains.get(owner) ?? chains.get(parentName(owner) ?? '.');
        if (entry) expiresAtMs = Math.min(expiresAtMs, entry.expiresAtMs);
      }
      const validFrom = Math.max(0, ...verdict.signatures.map((s) => s.inception));
      const validUntil = Math.min(Number.MAX_SAFE_INTEGER, ...verdict.signatures.map((s) => s.expiration));
      if (answers.size >= MAX_CACHE_ENTRIES) answers.clear();
      answers.set(key, { answer, authority, verdict, validFrom, validUntil, expiresAtMs });
    }
    return verdict;
  }

  async function validateFresh(result: DnsResult<RecordType>): Promise<AnswerVerdict> {
    const name = normaliseName(result.name);
    const type = result.type;
    const empty = { name, type, chain: null, rrsets: [], signatures: [] };
    if (result.status === 'unknown')
      return { ...empty, verdict: 'indeterminate', detail: `${type} ${name}: ${result.reason}` };
    if (!result.dnssec)
      return {
        ...empty,
        verdict: 'indeterminate',
        detail: 'the result carries no DNSSEC records (asked without dnssecOk?)',
      };
    const qtype = typeCodeOf(type) ?? 0;
    const groups = groupRecords(result.dnssec.answer);
    const rrsets: RRsetVerdict[] = [];
    const signatures: SignatureFacts[] = [];
    let current = name;
    let finalGroup: RRsetGroup | undefined;
    for (let hop = 0; hop <= MAX_ALIASES; hop++) {
      const direct = groups.get(`${current}|${qtype}`);
      if (direct) {
        finalGroup = direct;
        break;
      }
      const cname = groups.get(`${current}|${TYPE.CNAME}`);
      const dname = cname ? null : dnameTarget(groups, current);
      const step = cname ?? dname?.group;
      if (!step) break;
      const checked = await validateRRset(step, result.dnssec.authority);
      rrsets.push(checked.verdict);
      signatures.push(...checked.signatures, ...chainSignatures(checked.chain));
      const next = cname ? readName(cname.rrs[0]?.rdata ?? new Uint8Array(), 0)?.name : dname?.target;
      if (!next)
        return {
          ...empty,
          rrsets,
          verdict: 'bogus',
          reason: 'malformed',
          detail: `unreadable alias at ${current}`,
        };
      current = next;
    }
    if (finalGroup) {
      const checked = await validateRRset(finalGroup, result.dnssec.authority);
      rrsets.push(checked.verdict);
      signatures.push(...checked.signatures, ...chainSignatures(checked.chain));
      return summarise(name, type, rrsets, checked.chain, signatures);
    }
    if (result.status === 'answer') {
      return {
        ...empty,
        rrsets,
        verdict: 'bogus',
        reason: 'malformed',
        detail: `no ${type} RRset at ${current} in the answer`,
      };
    }
    // NXDOMAIN or NODATA for the end of the alias chain (RFC 4035 §5.4).
    const c = await chainForOwner(current, qtype);
    signatures.push(...chainSignatures(c));
    if (c.verdict !== 'secure') return summarise(name, type, rrsets, c, signatures);
    const state = memoedState(c.zone);
    if (!state)
      return {
        ...empty,
        rrsets,
        chain: c,
        verdict: 'indeterminate',
        detail: `keys of ${c.zone} expired from the cache`,
      };
    const proof = denialRecords(result.dnssec.authority, state);
    if (proof.failure) {
      return {
        ...empty,
        rrsets,
        chain: c,
        signatures,
        verdict: 'bogus',
        reason: proof.failure.reason,
        detail: `denial of ${type} ${current}: ${proof.failure.detail}`,
      };
    }
    let outcome: DenialOutcome;
    if (proof.nsec.length === 0 && proof.nsec3.length === 0)
      outcome = {
        kind: 'failed',
        detail: `no signed NSEC or NSEC3 records in the denial of ${type} ${current}`,
      };
    else if (result.status === 'nxdomain') {
      outcome =
        proof.nsec.length > 0
          ? proveNsecNxdomain(proof.nsec, current, c.zone)
          : proveNsec3Nxdomain(proof.nsec3, current, c.zone);
    } else {
      outcome =
        proof.nsec.length > 0
          ? proveNsecNodata(proof.nsec, current, qtype)
          : proveNsec3Nodata(proof.nsec3, current, qtype, c.zone);
    }
    signatures.push(...proof.signatures);
    const facts = denialFacts(outcome, proof.nsec3);
    const denial = facts ? { denial: { ...facts, outcome: outcome.kind } } : {};
    if (outcome.kind === 'failed') {
      return {
        ...empty,
        rrsets,
        chain: c,
        signatures,
        verdict: 'bogus',
        reason: 'broken_denial_proof',
        detail: outcome.detail,
      };
    }
    if (outcome.kind === 'iterations_over_cap') {
      return {
        ...empty,
        ...denial,
        rrsets,
        chain: c,
        signatures,
        verdict: 'insecure',
        insecureProof: 'nsec3_iterations_over_cap',
        detail: `NSEC3 with ${outcome.iterations} iterations (RFC 9276 §3.2)`,
      };
    }
    if (outcome.kind === 'insecure_delegation') {
      return {
        ...empty,
        ...denial,
        rrsets,
        chain: c,
        signatures,
        verdict: 'insecure',
        insecureProof: outcome.optOut
          ? 'nsec3_opt_out'
          : outcome.via === 'nsec'
            ? 'nsec_no_ds'
            : 'nsec3_no_ds',
      };
    }
    const verdict = worst([...rrsets.map((r) => r.verdict), 'secure']);
    const firstBad = rrsets.find((r) => r.verdict === verdict && verdict !== 'secure');
    return {
      ...empty,
      ...denial,
      rrsets,
      chain: c,
      signatures,
      verdict,
      ...(firstBad?.reason ? { reason: firstBad.reason } : {}),
      ...(firstBad?.detail ? { detail: firstBad.detail } : {}),
    };
  }

  const chainSignatureCache = new WeakMap<ChainLink[], SignatureFacts[]>();
  function chainSignatures(c: ChainResult): SignatureFacts[] {
    let list = chainSignatureCache.get(c.links);
    if (!list) {
      list = c.links.flatMap((l) => l.signatures);
      chainSignatureCache.set(c.links, list);
    }
    return list;
  }

  function summarise(
    name: string,
    type: string,
    rrsets: RRsetVerdict[],
    c: ChainResult,
    signatures: SignatureFacts[],
  ): AnswerVerdict {
    const verdict = worst([...rrsets.map((r) => r.verdict), c.verdict]);
    const culprit = rrsets.find((r) => r.verdict === verdict && verdict !== 'secure');
    const source = culprit ?? (c.verdict === verdict ? c : undefined);
    return {
      name,
      type,
      verdict,
      chain: c,
      rrsets,
      // Only an alias chain can repeat a signature (two names in one zone).
      signatures: rrsets.length > 1 ? dedupeSignatures(signatures) : signatures,
      ...(source?.reason ? { reason: source.reason } : {}),
      ...(verdict === 'insecure' && c.insecureProof ? { insecureProof: c.insecureProof } : {}),
      ...(source?.detail ? { detail: source.detail } : {}),
    };
  }

  return {
    async query(name, type) {
      const result = await resolver.query(name, type, QUERY);
      return { result, verdict: await validateResult(result) };
    },
    validateResult,
    chain,
    stats: () => ({ ...counters, zoneCacheEntries: zoneStates.size + cuts.size }),
  };
}

function dedupeSignatures(signatures: SignatureFacts[]): SignatureFacts[] {
  const seen = new Set<string>();
  return signatures.filter((s) => {
    const key = `${s.owner}|${s.type}|${s.keyTag}|${s.algorithm}|${s.expiration}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
