/**
 * Authenticated denial of existence: NSEC (RFC 4035 §5.4, RFC 6840 §4) and NSEC3 (RFC 5155 §8,
 * RFC 9276). The functions here only reason about records whose signatures the validator has
 * already checked; they say what those records prove, or why they prove nothing.
 */
import { createHash } from 'node:crypto';
import {
  base32hex,
  compareNames,
  fromBase32hex,
  isAtOrBelow,
  labelsOf,
  nameToWire,
  type ParsedNsec,
  type ParsedNsec3,
  parentName,
  TYPE,
} from './wire.ts';

/**
 * RFC 9276 §3.2: validators may treat NSEC3 with more iterations as insecure. 150 is the value
 * BIND, Unbound and Knot Resolver adopted in 2021, before RFC 9276 asked for lower ones.
 */
export const NSEC3_MAX_ITERATIONS = 150;
/** Bounds the closest-encloser search (one hash per ancestor, RFC 5155 §8.3). */
const MAX_NSEC3_HASHES_PER_PROOF = 64;
/** RFC 5155 §3.1.2.1: the Opt-Out flag. */
const NSEC3_FLAG_OPT_OUT = 0x01;

export interface NsecRecord {
  owner: string;
  nsec: ParsedNsec;
}
export interface Nsec3Record {
  owner: string;
  nsec3: ParsedNsec3;
}

export type DenialOutcome =
  /** The name does not exist; `closestEncloser` is the deepest existing ancestor. */
  | { kind: 'nxdomain'; closestEncloser: string; via: 'nsec' | 'nsec3'; records: string[] }
  /** The name exists without the type (an empty non-terminal included). */
  | { kind: 'nodata'; via: 'nsec' | 'nsec3'; records: string[]; delegation: boolean; wildcard?: string }
  /** DS denial at a delegation point, or an NSEC3 Opt-Out span that may hide one: unsigned below. */
  | { kind: 'insecure_delegation'; via: 'nsec' | 'nsec3'; optOut: boolean; records: string[] }
  /** RFC 9276 §3.2: proofs needing more than NSEC3_MAX_ITERATIONS iterations are not computed. */
  | { kind: 'iterations_over_cap'; iterations: number; records: string[] }
  | { kind: 'failed'; detail: string };

function commonAncestor(a: string, b: string): string {
  const la = labelsOf(a);
  const lb = labelsOf(b);
  let n = 0;
  while (n < la.length && n < lb.length && la[la.length - 1 - n] === lb[lb.length - 1 - n]) n++;
  return n === 0 ? '.' : la.slice(la.length - n).join('.');
}

/** The child of `ancestor` on the way down to `name` (RFC 5155 §1.3 "next closer name"). */
function nextCloser(name: string, ancestor: string): string {
  const ln = labelsOf(name);
  const depth = labelsOf(ancestor).length;
  return ln.slice(ln.length - depth - 1).join('.');
}

function wildcardOf(name: string): string {
  return name === '.' ? '*' : `*.${name}`;
}

/** `owner < name < next` in canonical order; the last NSEC of a chain wraps to the apex. */
function nsecCovers(r: NsecRecord, name: string): boolean {
  if (compareNames(r.owner, name) >= 0) return false;
  const wraps = compareNames(r.nsec.nextName, r.owner) <= 0;
  return wraps || compareNames(name, r.nsec.nextName) < 0;
}

/**
 * RFC 6840 §4.1: an NSEC at a delegation point (NS without SOA) or with DNAME says nothing about
 * names below it; using one to deny those would let a parent deny its child's data.
 */
function nsecIsAncestorCut(r: NsecRecord, name: string): boolean {
  if (r.owner === name || !isAtOrBelow(name, r.owner)) return false;
  const t = r.nsec.types;
  return (t.has(TYPE.NS) && !t.has(TYPE.SOA)) || t.has(TYPE.DNAME);
}

export function proveNsecNxdomain(records: NsecRecord[], qname: string, apex: string): DenialOutcome {
  if (records.some((r) => r.owner === qname)) return { kind: 'failed', detail: `an NSEC exists at ${qname}` };
  const cover = records.find((r) => nsecCovers(r, qname) && !nsecIsAncestorCut(r, qname));
  if (!cover) return { kind: 'failed', detail: `no NSEC covers ${qname}` };
  // RFC 4035 §5.4 / RFC 6840 §4.3: the closest encloser is the longer common ancestor of the
  // name with either end of the covering NSEC.
  const a = commonAncestor(qname, cover.owner);
  const b = commonAncestor(qname, cover.nsec.nextName);
  const closestEncloser = labelsOf(a).length >= labelsOf(b).length ? a : b;
  if (!isAtOrBelow(closestEncloser, apex)) return { kind: 'failed', detail: 'NSEC from outside the zone' };
  const wildcard = wildcardOf(closestEncloser);
  if (records.some((r) => r.owner === wildcard)) {
    return { kind: 'failed', detail: `wildcard ${wildcard} exists, so ${qname} could have been synthesised` };
  }
  const wildcardCover = records.find((r) => nsecCovers(r, wildcard));
  if (!wildcardCover) return { kind: 'failed', detail: `no NSEC denies the wildcard ${wildcard}` };
  const used = [...new Set([cover.owner, wildcardCover.owner])];
  return { kind: 'nxdomain', closestEncloser, via: 'nsec', records: used };
}

/**
 * NODATA (RFC 4035 §3.1.3.1, §3.1.3.2 for empty non-terminals, §3.1.3.4 for wildcards). For DS,
 * an NSEC at the name from the parent side that shows NS proves an unsigned delegation.
 */
export function proveNsecNodata(records: NsecRecord[], qname: string, qtype: number): DenialOutcome {
  const match = records.find((r) => r.owner === qname);
  if (match) {
    const t = match.nsec.types;
    if (t.has(qtype)) return { kind: 'failed', detail: `the NSEC at ${qname} lists the type` };
    if (qtype !== TYPE.CNAME && t.has(TYPE.CNAME))
      return { kind: 'failed', detail: `the NSEC at ${qname} lists CNAME` };
    const delegation = t.has(TYPE.NS) && !t.has(TYPE.SOA);
    if (qtype === TYPE.DS) {
      if (t.has(TYPE.SOA) && qname !== '.')
        return { kind: 'failed', detail: 'DS denied by the child zone, not the parent' };
      if (delegation)
        return { kind: 'insecure_delegation', via: 'nsec', optOut: false, records: [match.owner] };
    } else if (delegation) {
      return { kind: 'failed', detail: `the NSEC at ${qname} is the parent side of a delegation` };
    }
    return { kind: 'nodata', via: 'nsec', records: [match.owner], delegation };
  }
  // An empty non-terminal: the covering NSEC's next name lies below the query name.
  const ent = records.find(
    (r) => nsecCovers(r, qname) && isAtOrBelow(r.nsec.nextName, qname) && r.nsec.nextName !== qname,
  );
  if (ent && !nsecIsAncestorCut(ent, qname))
    return { kind: 'nodata', via: 'nsec', records: [ent.owner], delegation: false };
  // Wildcard NODATA: the name is covered, and the wildcard at its closest encloser lacks the type.
  const cover = records.find((r) => nsecCovers(r, qname) && !nsecIsAncestorCut(r, qname));
  if (cover) {
    for (let p = parentName(qname); p !== null; p = parentName(p)) {
      const wild = records.find((r) => r.owner === wildcardOf(p));
      if (!wild) continue;
      if (wild.nsec.types.has(qtype) || wild.nsec.types.has(TYPE.CNAME)) break;
      return {
        kind: 'nodata',
        via: 'nsec',
        records: [cover.owner, wild.owner],
        delegation: false,
        wildcard: wild.owner,
      };
    }
  }
  return {
    kind: 'failed',
    detail: `no NSEC proves that ${qname} has no ${qtype === TYPE.DS ? 'DS' : 'such'} record`,
  };
}

/** RFC 4035 §5.3.4 / RFC 4592: a wildcard answer must prove the query name itself does not exist. */
export function proveNsecNoCloserMatch(records: NsecRecord[], qname: string): DenialOutcome {
  const cover = records.find((r) => nsecCovers(r, qname) && !nsecIsAncestorCut(r, qname));
  return cover
    ? { kind: 'nodata', via: 'nsec', records: [cover.owner], delegation: false }
    : {
        kind: 'failed',
        detail: `no NSEC proves that ${qname} does not exist, yet the answer is a wildcard expansion`,
      };
}

/** RFC 5155 §5: IH(salt, x, 0) = H(x | salt); IH(salt, x, k) = H(IH(salt, x, k-1) | salt). */
export function nsec3Hash(name: string, salt: Uint8Array, iterations: number): Buffer {
  let digest = createHash('sha1').update(nameToWire(name)).update(salt).digest();
  for (let i = 0; i < iterations; i++) digest = createHash('sha1').update(digest).update(salt).digest();
  return digest;
}

interface HashedNsec3 extends Nsec3Record {
  hash: Buffer;
}

/** NSEC3 proofs for one zone, with one parameter set (the first usable one, RFC 5155 §8.2). */
class Nsec3Set {
  readonly records: HashedNsec3[];
  readonly salt: Buffer;
  readonly iterations: number;
  private readonly hashes = new Map<string, Buffer>();
  private hashCount = 0;

  constructor(records: Nsec3Record[], apex: string) {
    // RFC 5155 §8.1-8.2: only SHA-1 records of this zone, sharing one set of parameters.
    const usable = records.filter(
      (r) =>
        r.nsec3.hashAlgorithm === 1 &&
        parentName(r.owner) === apex &&
        fromBase32hex(labelsOf(r.owner)[0] ?? '') !== null,
    );
    const first = usable[0];
    this.salt = first?.nsec3.salt ?? Buffer.alloc(0);
    this.iterations = first?.nsec3.iterations ?? 0;
    this.records = usable
      .filter((r) => r.nsec3.iterations === this.iterations && r.nsec3.salt.equals(this.salt))
      .map((r) => ({ ...r, hash: fromBase32hex(labelsOf(r.owner)[0] as string) as Buffer }));
  }

  hash(name: string): Buffer | null {
    const known = this.hashes.get(name);
    if (known) return known;
    if (++this.hashCount > MAX_NSEC3_HASHES_PER_PROOF) return null;
    const h = nsec3Hash(name, this.salt, this.iterations);
    this.hashes.set(name, h);
    return h;
  }

  match(name: string): HashedNsec3 | undefined {
    const h = this.hash(name);
    return h ? this.records.find((r) => r.hash.equals(h)) : undefined;
  }

  /** RFC 5155 §8.3: owner hash < hash < next hash, the last record wrapping around. */
  cover(name: string): HashedNsec3 | undefined {
    const h = this.hash(name);
    if (!h) return undefined;
    return this.records.find((r) => {
      const next = r.nsec3.nextHashed;
      if (Buffer.compare(r.hash, next) < 0)
        return Buffer.compare(r.hash, h) < 0 && Buffer.compare(h, next) < 0;
      return Buffer.compare(r.hash, h) < 0 || Buffer.compare(h, next) < 0;
    });
  }

  /**
   * RFC 5155 §8.3 closest encloser proof: the deepest ancestor of `qname` (itself excluded) that
   * matches, with its next closer name covered.
   */
  closestEncloser(qname: string, apex: string) {
    for (
      let candidate = parentName(qname);
      candidate !== null && isAtOrBelow(candidate, apex);
      candidate = parentName(candidate)
    ) {
      const match = this.match(candidate);
      if (!match) continue;
      const t = match.nsec3.types;
      // A matching delegation or DNAME means the name lies in another zone (RFC 5155 §8.3).
      if ((t.has(TYPE.NS) && !t.has(TYPE.SOA)) || t.has(TYPE.DNAME)) return null;
      const closer = nextCloser(qname, candidate);
      const cover = this.cover(closer);
      if (!cover) return null;
      return { encloser: candidate, closer, match, cover };
    }
    return null;
  }
}

function overCap(records: Nsec3Record[]): DenialOutcome | null {
  const worst = Math.max(0, ...records.map((r) => r.nsec3.iterations));
  return worst > NSEC3_MAX_ITERATIONS
    ? { kind: 'iterations_over_cap', iterations: worst, records: records.map((r) => r.owner) }
    : null;
}

export function proveNsec3Nxdomain(records: Nsec3Record[], qname: string, apex: string): DenialOutcome {
  const capped = overCap(records);
  if (capped) return capped;
  const set = new Nsec3Set(records, apex);
  if (set.match(qname)) return { kind: 'failed', detail: `an NSEC3 matches ${qname}` };
  const ce = set.closestEncloser(qname, apex);
  if (!ce) return { kind: 'failed', detail: `no NSEC3 closest encloser proof for ${qname}` };
  // RFC 5155 §8.4: the wildcard at the closest encloser must be covered too.
  const wildcard = set.cover(wildcardOf(ce.encloser));
  if (!wildcard) return { kind: 'failed', detail: `no NSEC3 denies the wildcard *.${ce.encloser}` };
  const used = [...new Set([ce.match.owner, ce.cover.owner, wildcard.owner])];
  return { kind: 'nxdomain', closestEncloser: ce.encloser, via: 'nsec3', records: used };
}

export function proveNsec3Nodata(
  records: Nsec3Record[],
  qname: string,
  qtype: number,
  apex: string,
): DenialOutcome {
  const capped = overCap(records);
  if (capped) return capped;
  const set = new Nsec3Set(records, apex);
  const match = set.match(qname);
  if (match) {
    const t = match.nsec3.types;
    if (t.has(qtype)) return { kind: 'failed', detail: `the NSEC3 for ${qname} lists the type` };
    if (qtype !== TYPE.CNAME && t.has(TYPE.CNAME))
      return { kind: 'failed', detail: `the NSEC3 for ${qname} lists CNAME` };
    const delegation = t.has(TYPE.NS) && !t.has(TYPE.SOA);
    if (qtype === TYPE.DS) {
      if (t.has(TYPE.SOA) && qname !== apex)
        return { kind: 'failed', detail: 'DS denied by the child zone, not the parent' };
      // RFC 5155 §8.6: NS set, DS unset: an unsigned delegation.
      if (delegation)
        return { kind: 'insecure_delegation', via: 'nsec3', optOut: false, records: [match.owner] };
    } else if (delegation) {
      return { kind: 'failed', detail: `the NSEC3 for ${qname} is the parent side of a delegation` };
    }
    return { kind: 'nodata', via: 'nsec3', records: [match.owner], delegation };
  }
  const ce = set.closestEncloser(qname, apex);
  if (!ce) return { kind: 'failed', detail: `no NSEC3 matches ${qname} and no closest encloser proof` };
  // RFC 5155 §8.6: no match, but the next closer name lies in an Opt-Out span: insecure. (A DS
  // query can also meet a wildcard, so without Opt-Out the §8.7 proof below is still tried.)
  if (qtype === TYPE.DS && ce.cover.nsec3.flags & NSEC3_FLAG_OPT_OUT) {
    return {
      kind: 'insecure_delegation',
      via: 'nsec3',
      optOut: true,
      records: [ce.match.owner, ce.cover.owner],
    };
  }
  // RFC 5155 §8.7: wildcard NODATA: the wildcard at the closest encloser matches without the type.
  const wildcard = set.match(wildcardOf(ce.encloser));
  if (wildcard && !wildcard.nsec3.types.has(qtype) && !wildcard.nsec3.types.has(TYPE.CNAME)) {
    return {
      kind: 'nodata',
      via: 'nsec3',
      records: [ce.match.owner, ce.cover.owner, wildcard.owner],
      delegation: false,
      wildcard: wildcardOf(ce.encloser),
    };
  }
  return { kind: 'failed', detail: `no NSEC3 matches ${qname}` };
}

/** RFC 5155 §8.8: a wildcard answer needs the next closer name covered. */
export function proveNsec3NoCloserMatch(
  records: Nsec3Record[],
  qname: string,
  closestEncloser: string,
  apex: string,
): DenialOutcome {
  const capped = overCap(records);
  if (capped) return capped;
  const set = new Nsec3Set(records, apex);
  const cover = set.cover(nextCloser(qname, closestEncloser));
  return cover
    ? { kind: 'nodata', via: 'nsec3', records: [cover.owner], delegation: false }
    : { kind: 'failed', detail: `no NSEC3 covers the next closer name of ${qname}` };
}

/** For the signer and tests: the owner label of a name's NSEC3. */
export function nsec3OwnerLabel(name: string, salt: Uint8Array, iterations: number): string {
  return base32hex(nsec3Hash(name, salt, iterations));
}
