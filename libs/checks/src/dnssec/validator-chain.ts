/**
 * The chain of trust, built top-down (RFC 4035 §5.2): from the deepest trust anchor above a name,
 * DS is asked for each name between the anchor and the name. A signed DS RRset is a secure
 * delegation (entered by validator-zone-keys.ts), a proven absence of DS at a delegation point is
 * an insecure one (with the proof kept), and a proven absence anywhere else means no cut there, so
 * an unsigned delegation is proven, never assumed.
 *
 * The walk owns the caches that make rescans cheap: zone states and cuts (each for its TTL, capped
 * by maxCacheSeconds), whole chains by name, and the keys of the zones reached securely, which
 * answer validation (validator-answers.ts) verifies RRsets with.
 */
import type { Resolver } from '@mailwarden/core';
import { digestInfo, isSupportedAlgorithm } from './algorithms.ts';
import type { TrustAnchor } from './trust-anchors.ts';
import { denialFacts, denialRecords, proveDenial } from './validator-denial.ts';
import { groupRecords, type SignatureVerifier } from './validator-signatures.ts';
import {
  type ChainResult,
  type InsecureProof,
  MAX_CACHE_ENTRIES,
  QUERY,
  type Timed,
  type ZoneState,
} from './validator-types.ts';
import { createZoneEntry, stopped } from './validator-zone-keys.ts';
import { isAtOrBelow, labelsOf, normaliseName, parentName, parseDs, suffixOf, TYPE } from './wire.ts';

/** More labels than any mail name has; bounds the DS walk. */
const MAX_WALK_LABELS = 32;

/** What the parent says about a possible cut: a zone entered, no cut, no such name, or a stop. */
type Cut =
  | { kind: 'zone'; state: ZoneState }
  | { kind: 'none' }
  | { kind: 'nxdomain' }
  | { kind: 'stop'; state: ZoneState };

interface Entry<V> {
  value: Promise<V>;
  expiresAtMs: number;
}

export interface ChainWalker {
  /** The chain of trust down to the zone holding `name`. */
  chain(name: string): Promise<ChainResult>;
  /** The zone whose data an RRset is: the parent side for DS (RFC 4035 §2.4). */
  chainForOwner(owner: string, typeCode: number): Promise<ChainResult>;
  /** The cached state of a zone the chain reached securely. */
  secureState(zone: string): ZoneState | undefined;
  /** When the cached chain of `name` expires, epoch ms; undefined when none is cached. */
  cachedChainExpiry(name: string): number | undefined;
  /** Zone states and cuts cached (for `stats`). */
  cacheEntries(): number;
}

export function createChainWalker(
  resolver: Resolver,
  verifier: SignatureVerifier,
  options: { anchors: readonly TrustAnchor[]; now: () => Date; maxCacheMs: number },
): ChainWalker {
  const { anchors, now, maxCacheMs } = options;
  const zones = createZoneEntry(resolver, anchors, verifier);
  /** Resolved chains by name, so a warm scan reaches its zone keys without a walk. */
  const chains = new Map<string, { value: ChainResult; expiresAtMs: number }>();
  /** Zone states the chain reached securely, by zone. */
  const secureStates = new Map<string, ZoneState>();
  const zoneStates = new Map<string, Entry<ZoneState>>();
  const cuts = new Map<string, Entry<Cut>>();

  function memo<V>(map: Map<string, Entry<V>>, key: string, make: () => Promise<Timed<V>>): Promise<V> {
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

  function anchorState(zone: string): Promise<ZoneState> {
    return memo(zoneStates, zone, () => zones.enterAnchor(zone));
  }

  /** RFC 4035 §5.2: what the parent zone says about a cut at `name`. */
  function cutAt(state: ZoneState, name: string): Promise<Cut> {
    return memo(cuts, name, async () => {
      const result = await resolver.query(name, 'DS', QUERY);
      const parent = state.zone;
      const links = state.links;
      const none = { ds: [], dnskeys: [], signatures: [] };
      // The walk ends at this name with this link (insecure, bogus or indeterminate).
      const stopWith = (link: Parameters<typeof stopped>[3], ttlSeconds: number | null) => ({
        value: { kind: 'stop' as const, state: stopped(name, parent, links, link) },
        ttlSeconds,
      });
      if (result.status === 'unknown') {
        return stopWith(
          {
            ...none,
            verdict: 'indeterminate',
            detail: `DS ${name}: ${result.reason}`,
          },
          null,
        );
      }
      // An alias is never a zone cut (RFC 2181 §10.1: no other data beside a CNAME).
      if (result.cnameChain.length > 0) return { value: { kind: 'none' }, ttlSeconds: result.ttlSeconds };
      const sections = result.dnssec ?? { answer: [], authority: [] };
      if (result.status === 'answer') {
        const group = groupRecords(sections.answer).get(`${name}|${TYPE.DS}`);
        if (!group) {
          return stopWith(
            {
              ...none,
              verdict: 'bogus',
              reason: 'malformed',
              detail: `DS answer for ${name} without DS records`,
            },
            60,
          );
        }
        const verified = verifier.verifyRRset(group, parent, state.keys);
        if (!verified.ok) {
          return stopWith(
            {
              ...none,
              verdict: 'bogus',
              reason: verified.reason,
              detail: verified.detail,
            },
            group.ttl,
          );
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
          return stopWith(link, group.ttl);
        }
        const entered = await zones.enterZone(name, parent, links, usable, [], {
          signatures: [verified.signature],
        });
        const kind = entered.value.verdict === 'secure' ? 'zone' : 'stop';
        const ttl = entered.ttlSeconds === null ? null : Math.min(entered.ttlSeconds, group.ttl);
        return { value: { kind, state: entered.value } as Cut, ttlSeconds: ttl };
      }
      const proof = denialRecords(verifier, sections.authority, state);
      if (proof.failure) {
        const { reason, detail } = proof.failure;
        return stopWith(
          {
            ...none,
            verdict: 'bogus',
            reason,
            detail: `denial of DS ${name}: ${detail}`,
          },
          60,
        );
      }
      const outcome = proveDenial(
        proof,
        result.status === 'nxdomain',
        name,
        TYPE.DS,
        parent,
        `no signed NSEC or NSEC3 records deny DS ${name}`,
      );
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
          return stopWith(
            {
              ...withDenial,
              verdict: 'insecure',
              insecureProof,
              detail,
            },
            ttl,
          );
        }
        case 'iterations_over_cap': {
          const detail = `NSEC3 with ${outcome.iterations} iterations: treated as insecure (RFC 9276 §3.2)`;
          return stopWith(
            {
              ...withDenial,
              verdict: 'insecure',
              insecureProof: 'nsec3_iterations_over_cap',
              detail,
            },
            ttl,
          );
        }
        case 'failed':
          return stopWith(
            {
              ...none,
              verdict: 'bogus',
              reason: 'broken_denial_proof',
              detail: outcome.detail,
            },
            60,
          );
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

  return {
    chain,
    chainForOwner,
    secureState: (zone) => secureStates.get(zone),
    cachedChainExpiry: (name) => chains.get(name)?.expiresAtMs,
    cacheEntries: () => zoneStates.size + cuts.size,
  };
}
