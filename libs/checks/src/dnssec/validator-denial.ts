/**
 * Authenticated denial of existence as the validator uses it (RFC 4035 §5.4, RFC 5155 §8): the
 * NSEC/NSEC3 RRsets of a response are verified against the zone's keys, then handed to the proofs
 * of denial.ts, which knows only names and bitmaps. The same steps serve three callers, so they
 * live here once: the DS denials that prove a cut absent or unsigned (validator-chain.ts), and the
 * NXDOMAIN/NODATA answers and wildcard expansions (validator-answers.ts).
 */
import type { WireRecord } from '@mailwarden/core';
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
import { groupRecords, type SignatureVerifier } from './validator-signatures.ts';
import type { DenialFacts, SignatureFacts, VerifyOutcome, ZoneState } from './validator-types.ts';
import { isAtOrBelow, parseNsec, parseNsec3, TYPE } from './wire.ts';

/** The verified NSEC/NSEC3 records of a response, or the first RRset that failed to verify. */
export interface SignedDenial {
  nsec: NsecRecord[];
  nsec3: Nsec3Record[];
  signatures: SignatureFacts[];
  failure?: VerifyOutcome & { ok: false };
}

/** Validates the NSEC/NSEC3 RRsets of a denial against the zone's keys. */
export function denialRecords(
  verifier: SignatureVerifier,
  authority: readonly WireRecord[],
  state: Pick<ZoneState, 'zone' | 'keys'>,
): SignedDenial {
  const nsec: NsecRecord[] = [];
  const nsec3: Nsec3Record[] = [];
  const signatures: SignatureFacts[] = [];
  for (const group of groupRecords(authority).values()) {
    if (group.typeCode !== TYPE.NSEC && group.typeCode !== TYPE.NSEC3) continue;
    if (!isAtOrBelow(group.owner, state.zone)) continue;
    const verified = verifier.verifyRRset(group, state.zone, state.keys);
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

/**
 * Proves that `name` does not exist (`nxdomain`) or has no `typeCode` RRset in `zone`, with NSEC
 * when the response has any, else NSEC3; `missing` is the failure when it has neither.
 */
export function proveDenial(
  proof: SignedDenial,
  nxdomain: boolean,
  name: string,
  typeCode: number,
  zone: string,
  missing: string,
): DenialOutcome {
  if (proof.nsec.length === 0 && proof.nsec3.length === 0) return { kind: 'failed', detail: missing };
  if (nxdomain) {
    return proof.nsec.length > 0
      ? proveNsecNxdomain(proof.nsec, name, zone)
      : proveNsec3Nxdomain(proof.nsec3, name, zone);
  }
  return proof.nsec.length > 0
    ? proveNsecNodata(proof.nsec, name, typeCode)
    : proveNsec3Nodata(proof.nsec3, name, typeCode, zone);
}

/** RFC 4035 §5.3.4: no name closer than the wildcard's `encloser` matches `owner`. */
export function proveNoCloserMatch(
  proof: SignedDenial,
  owner: string,
  encloser: string,
  zone: string,
): DenialOutcome {
  if (proof.nsec.length > 0) return proveNsecNoCloserMatch(proof.nsec, owner);
  if (proof.nsec3.length > 0) return proveNsec3NoCloserMatch(proof.nsec3, owner, encloser, zone);
  return { kind: 'failed', detail: `wildcard answer for ${owner} without NSEC or NSEC3 proof` };
}

/** What a denial rests on, for the report: NSEC or NSEC3, which records, NSEC3 parameters. */
export function denialFacts(outcome: DenialOutcome, nsec3: Nsec3Record[]): DenialFacts | undefined {
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
