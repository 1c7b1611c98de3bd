/**
 * The declarative shape of fixture zones: apex -> names -> records by type. Tests write plain
 * objects; the server turns them into wire bytes once, when they are set.
 */
import type { CaaData, MxData, RecordType, SoaData } from '@mailwarden/core';

/** Any record given as its exact RDATA, for hostile or hand-signed data. */
export interface RawRdata {
  rdata: Uint8Array;
}

export interface FixtureDnskey {
  flags: number;
  /** RFC 4034 §2.1.2 says 3; other values are allowed here so tests can serve bad keys. */
  protocol?: number;
  algorithm: number;
  publicKey: Uint8Array;
}
export interface FixtureDs {
  keyTag: number;
  algorithm: number;
  digestType: number;
  /** Hex string or bytes. */
  digest: string | Uint8Array;
}
export interface FixtureRrsig {
  typeCovered: string;
  algorithm: number;
  labels: number;
  originalTtl: number;
  expiration: number;
  inception: number;
  keyTag: number;
  signerName: string;
  signature: Uint8Array;
}
export interface FixtureNsec {
  nextName: string;
  types: string[];
}
export interface FixtureNsec3 {
  hashAlgorithm: number;
  flags: number;
  iterations: number;
  salt: Uint8Array;
  nextHashedOwner: Uint8Array;
  types: string[];
}

export interface FixtureData {
  A: string;
  AAAA: string;
  MX: MxData;
  /**
   * One TXT record: a string (split into 255-byte character-strings, RFC 1035 §3.3.14) or the
   * record's character-strings given one by one.
   */
  TXT: string | Array<string | Uint8Array>;
  CNAME: string;
  NS: string;
  PTR: string;
  SOA: SoaData;
  TLSA: { usage: number; selector: number; matchingType: number /** hex */; data: string };
  CAA: CaaData;
  DNSKEY: FixtureDnskey;
  DS: FixtureDs;
  RRSIG: FixtureRrsig;
  NSEC: FixtureNsec;
  NSEC3: FixtureNsec3;
}

export type FixtureValue<T extends RecordType> = FixtureData[T] | RawRdata;

/** A list of records using the zone's default TTL, or the same with an explicit TTL. */
export type FixtureRRset<T extends RecordType> =
  | FixtureValue<T>[]
  | { ttl: number; values: FixtureValue<T>[] };

export type FixtureNode = { [T in RecordType]?: FixtureRRset<T> };

export interface ZoneSpec {
  /** TTL of records given without one. Default 300. */
  ttl?: number;
  /**
   * The zone's SOA, served at the apex and in the authority section of negative answers.
   * Defaults: ns1.<apex>, hostmaster.<apex>, serial 1, minimum 300, TTL 3600 — so the negative
   * TTL (RFC 2308 §5: min(SOA TTL, MINIMUM)) is 300 unless a test sets otherwise.
   */
  soa?: Partial<SoaData> & { ttl?: number };
  /**
   * Owner names: '@' for the apex, a name ending in the apex for itself, anything else relative
   * to the apex. `*.<name>` is a wildcard (RFC 4592).
   */
  records?: Record<string, FixtureNode>;
  /** Set the AD bit on answers from this zone (as a validating upstream would). */
  authenticData?: boolean;
}

export type Zones = Record<string, ZoneSpec>;
