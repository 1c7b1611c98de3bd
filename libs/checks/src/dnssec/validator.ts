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
 *
 * This file is the public entry point (the factory and its types) and wires the stages, each in
 * its own file so none grows past what one reader holds at once:
 * - validator-types.ts: the verdict types (re-exported here) and the internal shared ones;
 * - validator-signatures.ts: RRSIG verification and the verified-signature cache;
 * - validator-zone-keys.ts: entering a zone, its DNSKEY RRset against the DS records or anchors;
 * - validator-chain.ts: the DS walk down the zone cuts, with the zone, cut and chain caches;
 * - validator-denial.ts: NSEC/NSEC3 RRsets verified and handed to the proofs of denial.ts;
 * - validator-answers.ts: answers through aliases and wildcards, NXDOMAIN/NODATA, verdict cache.
 */
import type { Resolver } from '@mailwarden/core';
import { IANA_ROOT_TRUST_ANCHORS } from './trust-anchors.ts';
import { createAnswerValidator } from './validator-answers.ts';
import { createChainWalker } from './validator-chain.ts';
import { createSignatureVerifier } from './validator-signatures.ts';
import { type DnssecValidator, type DnssecValidatorOptions, QUERY } from './validator-types.ts';

export type {
  AnswerVerdict,
  BogusReason,
  ChainLink,
  ChainResult,
  DenialFacts,
  DnssecValidator,
  DnssecValidatorOptions,
  InsecureProof,
  RRsetVerdict,
  SignatureFacts,
  Verdict,
} from './validator-types.ts';

export function createDnssecValidator(
  resolver: Resolver,
  options: DnssecValidatorOptions = {},
): DnssecValidator {
  const anchors = options.trustAnchors ?? IANA_ROOT_TRUST_ANCHORS;
  const now = options.now ?? (() => new Date());
  const maxCacheMs = (options.maxCacheSeconds ?? 3600) * 1000;
  const verifier = createSignatureVerifier(now);
  const walker = createChainWalker(resolver, verifier, { anchors, now, maxCacheMs });
  const { validateResult } = createAnswerValidator(walker, verifier, { now, maxCacheMs });

  return {
    async query(name, type) {
      const result = await resolver.query(name, type, QUERY);
      return { result, verdict: await validateResult(result) };
    },
    validateResult,
    chain: walker.chain,
    stats: () => ({ ...verifier.counters, zoneCacheEntries: walker.cacheEntries() }),
  };
}
