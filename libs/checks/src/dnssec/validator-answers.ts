/**
 * Validation of one response (RFC 4035 §5.3-5.4): each RRset of the answer against the keys of its
 * zone, through CNAME and DNAME aliases (RFC 6672 §5.3.3), with the proof that no closer name
 * matches a wildcard expansion (RFC 4035 §5.3.4), or the NXDOMAIN/NODATA proof at the end of the
 * alias chain. The verdict is the worst of the RRsets and the chain, with every signature it rests
 * on. Verdicts of byte-identical responses are cached here, one step before the signature cache.
 */
import type { DnsResult, RecordType, WireRecord } from '@mailwarden/core';
import type { ChainWalker } from './validator-chain.ts';
import { denialFacts, denialRecords, proveDenial, proveNoCloserMatch } from './validator-denial.ts';
import { groupRecords, type SignatureVerifier } from './validator-signatures.ts';
import {
  type AnswerVerdict,
  type ChainLink,
  type ChainResult,
  MAX_CACHE_ENTRIES,
  type RRsetGroup,
  type RRsetVerdict,
  type SignatureFacts,
  type Verdict,
} from './validator-types.ts';
import {
  normaliseName,
  parentName,
  readName,
  rrsigLabelCount,
  suffixOf,
  TYPE,
  typeCodeOf,
  typeMnemonic,
} from './wire.ts';

/** Bounds the CNAME/DNAME hops followed within one response. */
const MAX_ALIASES = 10;

function worst(verdicts: Verdict[]): Verdict {
  for (const v of ['bogus', 'indeterminate', 'insecure'] as const) if (verdicts.includes(v)) return v;
  return 'secure';
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

function dedupeSignatures(signatures: SignatureFacts[]): SignatureFacts[] {
  const seen = new Set<string>();
  return signatures.filter((s) => {
    const key = `${s.owner}|${s.type}|${s.keyTag}|${s.algorithm}|${s.expiration}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface AnswerValidator {
  /** Validates a result asked with `dnssecOk` and `checkingDisabled`. */
  validateResult(result: DnsResult<RecordType>): Promise<AnswerVerdict>;
}

export function createAnswerValidator(
  walker: ChainWalker,
  verifier: SignatureVerifier,
  options: { now: () => Date; maxCacheMs: number },
): AnswerValidator {
  const { now, maxCacheMs } = options;
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
  const chainSignatureCache = new WeakMap<ChainLink[], SignatureFacts[]>();
  function chainSignatures(c: ChainResult): SignatureFacts[] {
    let list = chainSignatureCache.get(c.links);
    if (!list) {
      list = c.links.flatMap((l) => l.signatures);
      chainSignatureCache.set(c.links, list);
    }
    return list;
  }

  async function validateRRset(
    group: RRsetGroup,
    authority: readonly WireRecord[],
  ): Promise<{ verdict: RRsetVerdict; chain: ChainResult; signatures: SignatureFacts[] }> {
    const c = await walker.chainForOwner(group.owner, group.typeCode);
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
    const state = walker.secureState(c.zone);
    const verified = verifier.verifyRRset(group, c.zone, state?.keys ?? []);
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
      const proof = denialRecords(verifier, authority, state);
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
      const outcome = proveNoCloserMatch(proof, group.owner, encloser, c.zone);
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
        const chainExpiresAtMs =
          walker.cachedChainExpiry(owner) ?? walker.cachedChainExpiry(parentName(owner) ?? '.');
        if (chainExpiresAtMs !== undefined) expiresAtMs = Math.min(expiresAtMs, chainExpiresAtMs);
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
    const c = await walker.chainForOwner(current, qtype);
    signatures.push(...chainSignatures(c));
    if (c.verdict !== 'secure') return summarise(name, type, rrsets, c, signatures);
    const state = walker.secureState(c.zone);
    if (!state)
      return {
        ...empty,
        rrsets,
        chain: c,
        verdict: 'indeterminate',
        detail: `keys of ${c.zone} expired from the cache`,
      };
    const proof = denialRecords(verifier, result.dnssec.authority, state);
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
    const outcome = proveDenial(
      proof,
      result.status === 'nxdomain',
      current,
      qtype,
      c.zone,
      `no signed NSEC or NSEC3 records in the denial of ${type} ${current}`,
    );
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

  return { validateResult };
}
