/**
 * Entering a zone of the chain of trust (RFC 4035 §5.2): its DNSKEY RRset is fetched and accepted
 * when a key that a trusted DS record (or a configured trust anchor) vouches for signs it. Kept
 * apart from the walk that finds the zone cuts (validator-chain.ts) because this is where key
 * material is judged (zone key flags, revoked keys, DS digests), and apart from the walk's caches,
 * which memoise what this returns.
 */
import type { Resolver } from '@mailwarden/core';
import { digestInfo, dsDigest, isSupportedAlgorithm, publicKeyOf } from './algorithms.ts';
import type { TrustAnchor } from './trust-anchors.ts';
import { groupRecords, type SignatureVerifier } from './validator-signatures.ts';
import {
  type BogusReason,
  type ChainLink,
  QUERY,
  type RRsetGroup,
  type Timed,
  type ValidKey,
  type ZoneState,
} from './validator-types.ts';
import { nameToWire, parseDnskey, TYPE } from './wire.ts';

/** RFC 4034 §2.1.1 Zone Key, RFC 4034 §2.1.1 SEP, RFC 5011 §3 REVOKE. */
const FLAG_ZONE = 0x0100;
const FLAG_SEP = 0x0001;
const FLAG_REVOKE = 0x0080;
/** Bounds the work one DNSKEY RRset can cause (the "KeyTrap" attacks, CVE-2023-50387). */
const MAX_DNSKEYS = 64;

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

/** The state of a walk that stopped at `zone`: the link says why (insecure, bogus, indeterminate). */
export function stopped(
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

export interface ZoneEntry {
  /**
   * Fetches the DNSKEY RRset of `zone` and accepts it when a key that a DS (or anchor) vouches for
   * signs it (RFC 4035 §5.2). `ds` are the already-trusted DS records, or the anchor.
   */
  enterZone(
    zone: string,
    parent: string | null,
    links: ChainLink[],
    ds: { keyTag: number; algorithm: number; digestType: number; digest: Buffer }[],
    dnskeyAnchors: Buffer[],
    extra: Pick<ChainLink, 'signatures'>,
  ): Promise<Timed<ZoneState>>;
  /** Enters a zone that has configured trust anchors, from its supported anchors alone. */
  enterAnchor(zone: string): Promise<Timed<ZoneState>>;
}

export function createZoneEntry(
  resolver: Resolver,
  anchors: readonly TrustAnchor[],
  verifier: SignatureVerifier,
): ZoneEntry {
  const { verifyRRset } = verifier;

  async function enterZone(
    zone: string,
    parent: string | null,
    links: ChainLink[],
    ds: { keyTag: number; algorithm: number; digestType: number; digest: Buffer }[],
    dnskeyAnchors: Buffer[],
    extra: Pick<ChainLink, 'signatures'>,
  ): Promise<Timed<ZoneState>> {
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

  async function enterAnchor(zone: string): Promise<Timed<ZoneState>> {
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
  }

  return { enterZone, enterAnchor };
}
