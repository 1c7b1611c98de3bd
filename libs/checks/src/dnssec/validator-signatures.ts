/**
 * RRSIG verification for the DNSSEC validator (RFC 4035 §5.3) and the cache of verified
 * signatures behind it. It is the one place where signature cryptography runs, so the bounds on the
 * work one RRset can cause (the "KeyTrap" attacks) and the per (key, RRset, signature) cache that
 * makes rescans cheap both sit here, together with the grouping of response records into RRsets.
 */
import type { WireRecord } from '@mailwarden/core';
import { algorithmInfo, isSupportedAlgorithm, verifySignature } from './algorithms.ts';
import {
  type BogusReason,
  MAX_CACHE_ENTRIES,
  type RRsetGroup,
  type SignatureFacts,
  type ValidKey,
  type VerifyOutcome,
} from './validator-types.ts';
import {
  normaliseName,
  type ParsedRrsig,
  parseRrsig,
  rrsigLabelCount,
  serialCompare,
  signedData,
  TYPE,
  typeMnemonic,
} from './wire.ts';

/** Bounds the work one RRset can cause (the "KeyTrap" attacks, CVE-2023-50387). */
const MAX_SIGNATURES_TRIED = 8;
const MAX_KEYS_PER_SIGNATURE = 4;

/** When several signatures fail, the verdict names the most telling failure: the first here. */
const REASON_PRIORITY: BogusReason[] = [
  'signature_expired',
  'signature_not_yet_valid',
  'invalid_signature',
  'no_matching_key',
  'unsupported_algorithm',
  'malformed',
  'missing_signatures',
];

/** Groups the records of a response section into RRsets, each with the RRSIGs covering it. */
export function groupRecords(records: readonly WireRecord[]): Map<string, RRsetGroup> {
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

export interface SignatureVerifier {
  /**
   * RFC 4035 §5.3: an RRset is secure when one RRSIG by the zone, within its validity period,
   * verifies with one of the zone's keys.
   */
  verifyRRset(group: RRsetGroup, zone: string, keys: ValidKey[]): VerifyOutcome;
  /** Counters for benchmarks and tests (read by the validator's `stats`). */
  readonly counters: { verifications: number; verificationCacheHits: number };
}

export function createSignatureVerifier(now: () => Date): SignatureVerifier {
  /**
   * Keyed by the signature; the key RDATA and signed data are kept and compared byte for byte, so
   * a signature replayed over other data or with another key never hits.
   */
  const verificationCache = new Map<string, { keyRdata: Buffer; data: Buffer; ok: boolean }>();
  const counters = { verifications: 0, verificationCacheHits: 0 };

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

  return { verifyRRset, counters };
}
