/**
 * The NSEC and NSEC3 records a signed zone's authoritative server adds to negative and wildcard
 * answers (RFC 4035 §3.1.3, RFC 5155 §7.2). They are picked from the records the zone holds, so a
 * test that leaves some out (or signs them badly) gets a broken proof on the wire, as it should.
 */
import { compareCanonical, fromBase32hex, isWithin, labels, nsec3HashOf, parentOf } from '../dnssec/names.ts';

interface Rr {
  rdata: Buffer;
  wire: Buffer;
  covered?: number;
}
interface RRset {
  code: number;
  rrs: Rr[];
}
type Node = Map<number, RRset>;

const NSEC = 47;
const NSEC3 = 50;
const RRSIG = 46;

interface NsecEntry {
  owner: string;
  next: string;
  wires: Buffer[];
}
interface Nsec3Entry {
  hash: Buffer;
  next: Buffer;
  wires: Buffer[];
}

function withSignatures(node: Node, set: RRset): Buffer[] {
  const sigs = node.get(RRSIG)?.rrs.filter((r) => r.covered === set.code) ?? [];
  return [...set.rrs.map((r) => r.wire), ...sigs.map((r) => r.wire)];
}

function readName(rdata: Buffer): string {
  const out: string[] = [];
  for (let o = 0; o < rdata.length; ) {
    const len = rdata[o] as number;
    if (len === 0) break;
    out.push(rdata.toString('latin1', o + 1, o + 1 + len).toLowerCase());
    o += len + 1;
  }
  return out.join('.');
}

export class DenialIndex {
  private readonly nsec: NsecEntry[] = [];
  private readonly nsec3: Nsec3Entry[] = [];
  private salt: Buffer = Buffer.alloc(0);
  private iterations = 0;
  private readonly apex: string;
  private readonly exists: (name: string) => boolean;

  constructor(apex: string, nodes: Map<string, Node>, exists: (name: string) => boolean) {
    this.apex = apex;
    this.exists = exists;
    for (const [owner, node] of nodes) {
      const nsec = node.get(NSEC);
      if (nsec?.rrs[0])
        this.nsec.push({ owner, next: readName(nsec.rrs[0].rdata), wires: withSignatures(node, nsec) });
      const nsec3 = node.get(NSEC3);
      const first = nsec3?.rrs[0];
      if (nsec3 && first && parentOf(owner) === apex) {
        const r = first.rdata;
        const saltLength = r[4] as number;
        this.salt = r.subarray(5, 5 + saltLength);
        this.iterations = r.readUInt16BE(2);
        const hashLength = r[5 + saltLength] as number;
        const next = r.subarray(6 + saltLength, 6 + saltLength + hashLength);
        this.nsec3.push({
          hash: fromBase32hex(labels(owner)[0] as string),
          next,
          wires: withSignatures(node, nsec3),
        });
      }
    }
    this.nsec.sort((a, b) => compareCanonical(a.owner, b.owner));
    this.nsec3.sort((a, b) => Buffer.compare(a.hash, b.hash));
  }

  get signed(): boolean {
    return this.nsec.length > 0 || this.nsec3.length > 0;
  }

  /** The deepest existing ancestor of a name that does not exist (RFC 5155 §1.3). */
  closestEncloser(name: string): string {
    for (let p = parentOf(name); p !== null && isWithin(p, this.apex); p = parentOf(p))
      if (this.exists(p)) return p;
    return this.apex;
  }

  /** The last entry ordered before `name` (binary search), wrapping to the last of the chain. */
  private static before<E>(list: E[], isBefore: (e: E) => boolean): E | undefined {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (isBefore(list[mid] as E)) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? list[lo - 1] : list[list.length - 1];
  }

  private coveringNsec(name: string): NsecEntry | undefined {
    return DenialIndex.before(this.nsec, (e) => compareCanonical(e.owner, name) < 0);
  }

  private nsecAt(name: string): NsecEntry | undefined {
    return this.nsec.find((e) => e.owner === name);
  }

  private hash(name: string): Buffer {
    return nsec3HashOf(name, this.salt, this.iterations);
  }

  private matching3(name: string): Nsec3Entry | undefined {
    const h = this.hash(name);
    return this.nsec3.find((e) => e.hash.equals(h));
  }

  private covering3(name: string): Nsec3Entry | undefined {
    const h = this.hash(name);
    return DenialIndex.before(this.nsec3, (e) => Buffer.compare(e.hash, h) < 0);
  }

  /** RFC 5155 §7.2.1: the closest provable encloser's NSEC3 and the one covering the next closer name. */
  private encloserProof3(name: string): { encloser: string; wires: Buffer[] } {
    for (let p = parentOf(name); p !== null && isWithin(p, this.apex); p = parentOf(p)) {
      const match = this.matching3(p);
      if (!match) continue;
      const closer = labels(name)
        .slice(-labels(p).length - 1)
        .join('.');
      return { encloser: p, wires: [...match.wires, ...(this.covering3(closer)?.wires ?? [])] };
    }
    return { encloser: this.apex, wires: [] };
  }

  private static wild(name: string): string {
    return name === '' ? '*' : `*.${name}`;
  }

  /** RFC 4035 §3.1.3.2, RFC 5155 §7.2.2. */
  nxdomain(name: string): Buffer[] {
    if (this.nsec.length > 0) {
      const encloser = this.closestEncloser(name);
      return [
        ...(this.coveringNsec(name)?.wires ?? []),
        ...(this.coveringNsec(DenialIndex.wild(encloser))?.wires ?? []),
      ];
    }
    if (this.nsec3.length === 0) return [];
    const proof = this.encloserProof3(name);
    return [...proof.wires, ...(this.covering3(DenialIndex.wild(proof.encloser))?.wires ?? [])];
  }

  /**
   * NODATA at a name that exists (the NSEC case is served from the node itself), at an empty
   * non-terminal (RFC 4035 §3.1.3.2: the covering NSEC), or for DS at an Opt-Out delegation
   * (RFC 5155 §7.2.4: the closest provable encloser proof).
   */
  nodata(name: string, nsecAtNode: boolean): Buffer[] {
    if (this.nsec.length > 0) return nsecAtNode ? [] : (this.coveringNsec(name)?.wires ?? []);
    if (this.nsec3.length === 0) return [];
    const match = this.matching3(name);
    return match ? match.wires : this.encloserProof3(name).wires;
  }

  /** RFC 4035 §3.1.3.4 / RFC 5155 §7.2.5: wildcard NODATA. */
  wildcardNodata(name: string, encloser: string): Buffer[] {
    const wild = DenialIndex.wild(encloser);
    if (this.nsec.length > 0)
      return [...(this.coveringNsec(name)?.wires ?? []), ...(this.nsecAt(wild)?.wires ?? [])];
    if (this.nsec3.length === 0) return [];
    return [...this.encloserProof3(name).wires, ...(this.matching3(wild)?.wires ?? [])];
  }

  /** RFC 4035 §3.1.3.3 / RFC 5155 §7.2.6: a wildcard answer proves the next closer name absent. */
  wildcardAnswer(name: string, encloser: string): Buffer[] {
    if (this.nsec.length > 0) return this.coveringNsec(name)?.wires ?? [];
    if (this.nsec3.length === 0) return [];
    const closer = labels(name)
      .slice(-labels(encloser).length - 1)
      .join('.');
    return this.covering3(closer)?.wires ?? [];
  }
}
