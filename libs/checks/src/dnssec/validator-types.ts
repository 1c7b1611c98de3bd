/**
 * The types of the DNSSEC validator (validator.ts), in a file of their own so that every stage of
 * it (signatures, zone keys, chain walk, denial, answers) can share them without importing
 * validator.ts, which wires the stages together: a shared leaf keeps the import graph acyclic.
 *
 * The public types (verdicts and the facts behind them) are re-exported by validator.ts, the one
 * public path; the internal ones (marked below) are not.
 */

import type { KeyObject } from 'node:crypto';
import type { DnsResult, RecordType } from '@mailwarden/core';
import type { DenialOutcome } from './denial.ts';
import type { TrustAnchor } from './trust-anchors.ts';
import type { ParsedDnskey, ParsedRrsig, SignedRr } from './wire.ts';

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

// Internal to the validator's files from here on.

/** Bounds every cache of the validator; a full cache is cleared rather than grown. */
export const MAX_CACHE_ENTRIES = 200_000;
/** Every query of the validator: DO for the RRSIGs, CD so an upstream validator hands bogus data over. */
export const QUERY = { dnssecOk: true, checkingDisabled: true } as const;

/** A value and how long it may be cached, seconds; null: not at all. */
export interface Timed<V> {
  value: V;
  ttlSeconds: number | null;
}

export interface ValidKey {
  parsed: ParsedDnskey;
  key: KeyObject | null;
}

/** How far trust reached: the zone, its verdict, and (when secure) its zone keys. */
export interface ZoneState {
  zone: string;
  verdict: Verdict;
  keys: ValidKey[];
  links: ChainLink[];
  reason?: BogusReason;
  insecureProof?: InsecureProof;
  detail?: string;
}

/** The records of one RRset from a response, with the RRSIGs that cover it. */
export interface RRsetGroup {
  owner: string;
  typeCode: number;
  ttl: number;
  rrs: SignedRr[];
  sigs: ParsedRrsig[];
}

export type VerifyOutcome =
  | { ok: true; signature: SignatureFacts }
  | { ok: false; reason: BogusReason; detail: string };
