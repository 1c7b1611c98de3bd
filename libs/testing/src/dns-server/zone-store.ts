/**
 * Fixture zones held as wire-ready RRsets, and the authoritative lookup of RFC 1034 §4.3.2
 * (simplified: no delegations, every zone is served here), with wildcards (RFC 4592), empty
 * non-terminals (RFC 8020: NODATA, not NXDOMAIN), DS answered from the parent side (RFC 4035
 * §3.1.4.1) and CNAME chasing across the zones this server holds.
 */
import type { RecordType } from '@mailwarden/core';
import { DenialIndex } from './denial-proofs.ts';
import type { FixtureRRset, FixtureValue, ZoneSpec } from './fixtures.ts';
import { canonicalName, encodeRdata, encodeRr, TYPE_CODES, typeCode } from './rr-wire.ts';

interface StoredRr {
  rdata: Buffer;
  /** The RR encoded with its own owner name, copied as-is into responses. */
  wire: Buffer;
  /** For RRSIG: the covered type (RFC 4034 §3.1.1), so signatures travel with their RRset. */
  covered?: number;
}
interface StoredRRset {
  code: number;
  ttl: number;
  rrs: StoredRr[];
}
type StoredNode = Map<number, StoredRRset>;

interface Zone {
  apex: string;
  defaultTtl: number;
  authenticData: boolean;
  nodes: Map<string, StoredNode>;
  /** Names that exist only because something below them does (RFC 8020 §2). */
  emptyNonTerminals: Set<string>;
  /** NSEC/NSEC3 proofs for signed zones, rebuilt lazily after a change. */
  denial: DenialIndex | null;
}

export interface LookupResult {
  rcode: number;
  authoritative: boolean;
  authenticData: boolean;
  answer: Buffer[];
  authority: Buffer[];
}

const RCODE_NOERROR = 0;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;
const CNAME = TYPE_CODES.CNAME as number;
const SOA = TYPE_CODES.SOA as number;
const RRSIG = TYPE_CODES.RRSIG as number;
const NSEC = TYPE_CODES.NSEC as number;
const DS = TYPE_CODES.DS as number;
/** Bounds the server's own CNAME chasing so fixture loops end (the client must detect them). */
const MAX_CHASE = 16;

function parentOf(name: string): string | null {
  if (name === '') return null;
  const dot = name.indexOf('.');
  return dot === -1 ? '' : name.slice(dot + 1);
}

function isWithin(name: string, apex: string): boolean {
  return apex === '' || name === apex || name.endsWith(`.${apex}`);
}

export class ZoneStore {
  private readonly zones = new Map<string, Zone>();
  /** Bumped on every change so callers can drop anything derived from the data. */
  generation = 0;

  setZone(apexName: string, spec: ZoneSpec): void {
    const apex = canonicalName(apexName);
    const zone: Zone = {
      apex,
      defaultTtl: spec.ttl ?? 300,
      authenticData: spec.authenticData ?? false,
      nodes: new Map(),
      emptyNonTerminals: new Set(),
      denial: null,
    };
    this.zones.set(apex, zone);
    const soa = spec.soa ?? {};
    const suffix = apex === '' ? '' : `.${apex}`;
    this.put(zone, apex, 'SOA', soa.ttl ?? 3600, [
      {
        mname: soa.mname ?? `ns1${suffix}`,
        rname: soa.rname ?? `hostmaster${suffix}`,
        serial: soa.serial ?? 1,
        refresh: soa.refresh ?? 3600,
        retry: soa.retry ?? 600,
        expire: soa.expire ?? 86400,
        minimum: soa.minimum ?? 300,
      },
    ]);
    for (const [owner, node] of Object.entries(spec.records ?? {})) {
      const name = this.ownerName(owner, apex);
      for (const [type, rrset] of Object.entries(node)) {
        this.setIn(zone, name, type as RecordType, rrset as FixtureRRset<RecordType>);
      }
    }
    this.reindex(zone);
  }

  removeZone(apexName: string): void {
    this.zones.delete(canonicalName(apexName));
    this.generation++;
  }

  /** Replace (or with an empty list, remove) one RRset. */
  setRecords<T extends RecordType>(name: string, type: T, rrset: FixtureRRset<T>): void {
    const owner = canonicalName(name);
    const zone = this.zoneFor(owner, typeCode(type));
    if (!zone) throw new Error(`no fixture zone holds ${name}`);
    this.setIn(zone, owner, type, rrset as FixtureRRset<RecordType>);
    this.reindex(zone);
  }

  deleteRecords(name: string, type?: RecordType): void {
    const owner = canonicalName(name);
    const zone = this.zoneFor(owner, type === undefined ? 0 : typeCode(type));
    const node = zone?.nodes.get(owner);
    if (!zone || !node) return;
    if (type === undefined) zone.nodes.delete(owner);
    else node.delete(typeCode(type));
    if (node.size === 0) zone.nodes.delete(owner);
    this.reindex(zone);
  }

  lookup(qname: string, qtype: number, dnssecOk: boolean): LookupResult {
    const result: LookupResult = {
      rcode: RCODE_NOERROR,
      authoritative: true,
      authenticData: false,
      answer: [],
      authority: [],
    };
    const seen = new Set<string>();
    let name = qname;
    for (let step = 0; step < MAX_CHASE; step++) {
      const zone = this.zoneFor(name, qtype);
      if (!zone) {
        // Outside every fixture zone: refuse like an authoritative-only server, unless we are
        // already inside a chain, which then simply ends here (RFC 1034 §4.3.2 step 3a).
        if (result.answer.length === 0) {
          result.rcode = RCODE_REFUSED;
          result.authoritative = false;
        }
        return result;
      }
      result.authenticData = zone.authenticData;
      const exact = zone.nodes.get(name);
      const wildcard = exact ? undefined : this.wildcardFor(zone, name);
      const node = exact ?? wildcard?.node;
      if (!node) {
        const ent = zone.emptyNonTerminals.has(name);
        result.rcode = ent ? RCODE_NOERROR : RCODE_NXDOMAIN;
        this.addNegative(result, zone, null, dnssecOk);
        if (dnssecOk) {
          const denial = this.denialOf(zone);
          this.addProof(result, ent ? denial.nodata(name, false) : denial.nxdomain(name));
        }
        return result;
      }
      const rrset = node.get(qtype);
      if (rrset) {
        this.addRRset(result.answer, node, rrset, dnssecOk);
        if (dnssecOk && wildcard)
          this.addProof(result, this.denialOf(zone).wildcardAnswer(name, wildcard.encloser));
        return result;
      }
      const cname = node.get(CNAME);
      if (!cname || qtype === CNAME) {
        // A wildcard's own NSEC keeps its own owner (RFC 4035 §3.1.3.4), so it is not synthesised.
        this.addNegative(result, zone, wildcard ? null : node, dnssecOk);
        if (dnssecOk) {
          const denial = this.denialOf(zone);
          this.addProof(
            result,
            wildcard ? denial.wildcardNodata(name, wildcard.encloser) : denial.nodata(name, node.has(NSEC)),
          );
        }
        return result;
      }
      this.addRRset(result.answer, node, cname, dnssecOk);
      if (dnssecOk && wildcard)
        this.addProof(result, this.denialOf(zone).wildcardAnswer(name, wildcard.encloser));
      seen.add(name);
      const target = readTarget(cname);
      if (seen.has(target) || !this.followCnames) return result;
      name = target;
    }
    return result;
  }

  /** When false, answers carry only the first CNAME, as for a target outside the server's zones. */
  followCnames = true;

  private ownerName(owner: string, apex: string): string {
    if (owner === '@') return apex;
    const name = canonicalName(owner);
    if (isWithin(name, apex) && apex !== '') return name;
    return apex === '' ? name : `${name}.${apex}`;
  }

  private setIn(zone: Zone, owner: string, type: RecordType, rrset: FixtureRRset<RecordType>): void {
    const ttl = Array.isArray(rrset) ? zone.defaultTtl : rrset.ttl;
    const values = Array.isArray(rrset) ? rrset : rrset.values;
    this.put(zone, owner, type, ttl, values);
  }

  private put(zone: Zone, owner: string, type: RecordType, ttl: number, values: FixtureValue<RecordType>[]) {
    if (!isWithin(owner, zone.apex)) throw new Error(`${owner} is outside zone ${zone.apex}`);
    const code = typeCode(type);
    const node = zone.nodes.get(owner) ?? new Map<number, StoredRRset>();
    if (values.length === 0) node.delete(code);
    else {
      const rrs = values.map((value) => {
        const rdata = encodeRdata(type, value);
        const rr: StoredRr = { rdata, wire: encodeRr(owner, code, ttl, rdata) };
        if (code === RRSIG && rdata.length >= 2) rr.covered = rdata.readUInt16BE(0);
        return rr;
      });
      node.set(code, { code, ttl, rrs });
    }
    if (node.size > 0) zone.nodes.set(owner, node);
    else zone.nodes.delete(owner);
  }

  private reindex(zone: Zone): void {
    zone.denial = null;
    zone.emptyNonTerminals.clear();
    for (const name of zone.nodes.keys()) {
      for (let p = parentOf(name); p !== null && p !== zone.apex && isWithin(p, zone.apex); p = parentOf(p)) {
        if (!zone.nodes.has(p)) zone.emptyNonTerminals.add(p);
      }
    }
    this.generation++;
  }

  /** The most specific zone holding `name`; DS at a zone apex belongs to the parent zone. */
  private zoneFor(name: string, qtype: number): Zone | undefined {
    let zone: Zone | undefined;
    for (let n: string | null = name; n !== null; n = parentOf(n)) {
      zone = this.zones.get(n);
      if (zone) break;
    }
    if (zone && qtype === DS && zone.apex === name) {
      for (let n = parentOf(name); n !== null; n = parentOf(n)) {
        const parent = this.zones.get(n);
        if (parent) return parent;
      }
    }
    return zone;
  }

  private denialOf(zone: Zone): DenialIndex {
    zone.denial ??= new DenialIndex(
      zone.apex,
      zone.nodes,
      (n) => n === zone.apex || zone.nodes.has(n) || zone.emptyNonTerminals.has(n),
    );
    return zone.denial;
  }

  /** Proof records go to the authority section once each (a record may serve two roles). */
  private addProof(result: LookupResult, wires: Buffer[]): void {
    for (const wire of wires) if (!result.authority.includes(wire)) result.authority.push(wire);
  }

  /** RFC 4592 §3.3.1: only a name that does not exist can be synthesised from `*.<closest encloser>`. */
  private wildcardFor(zone: Zone, name: string): { node: StoredNode; encloser: string } | undefined {
    if (zone.emptyNonTerminals.has(name)) return undefined;
    for (let p = parentOf(name); p !== null && isWithin(p, zone.apex); p = parentOf(p)) {
      if (zone.nodes.has(p) || zone.emptyNonTerminals.has(p) || p === zone.apex) {
        const source = zone.nodes.get(p === '' ? '*' : `*.${p}`);
        if (!source) return undefined;
        // Re-encode with the query name as owner (RFC 4592 §3.3.1: the synthesised RRs own qname).
        const synthesised: StoredNode = new Map();
        for (const [code, set] of source) {
          synthesised.set(code, {
            code,
            ttl: set.ttl,
            rrs: set.rrs.map((rr) => ({ ...rr, wire: encodeRr(name, code, set.ttl, rr.rdata) })),
          });
        }
        return { node: synthesised, encloser: p };
      }
    }
    return undefined;
  }

  private addRRset(out: Buffer[], node: StoredNode, set: StoredRRset, dnssecOk: boolean): void {
    for (const rr of set.rrs) out.push(rr.wire);
    if (!dnssecOk || set.code === RRSIG) return;
    for (const sig of node.get(RRSIG)?.rrs ?? []) if (sig.covered === set.code) out.push(sig.wire);
  }

  /** RFC 2308 §3: the zone's SOA in the authority section; with DO, its RRSIG and the NSEC at the name. */
  private addNegative(result: LookupResult, zone: Zone, node: StoredNode | null, dnssecOk: boolean): void {
    const apexNode = zone.nodes.get(zone.apex);
    const soa = apexNode?.get(SOA);
    if (apexNode && soa) this.addRRset(result.authority, apexNode, soa, dnssecOk);
    const nsec = node?.get(NSEC);
    if (dnssecOk && node && nsec) this.addRRset(result.authority, node, nsec, true);
  }
}

/** The target name of a stored CNAME RRset (its first RR), read back from the RDATA. */
function readTarget(set: StoredRRset): string {
  const rdata = set.rrs[0]?.rdata;
  if (!rdata) return '';
  const labels: string[] = [];
  for (let o = 0; o < rdata.length; ) {
    const len = rdata[o] ?? 0;
    if (len === 0) break;
    labels.push(rdata.toString('latin1', o + 1, o + 1 + len).toLowerCase());
    o += len + 1;
  }
  return labels.join('.');
}
