/**
 * The DNS vocabulary shared by the client (libs/net, which performs queries) and the checks
 * (libs/checks, which only analyse answers). Checks receive a `Resolver`; they never open sockets.
 *
 * Three outcomes are kept apart everywhere (DESIGN.md §3): an answer, a proven absence
 * (NXDOMAIN or NODATA, RFC 2308), and `unknown` — we could not find out. `unknown` is never a
 * security verdict.
 */
export type RecordType =
  | 'A'
  | 'AAAA'
  | 'MX'
  | 'TXT'
  | 'CNAME'
  | 'NS'
  | 'SOA'
  | 'PTR'
  | 'TLSA'
  | 'CAA'
  | 'DNSKEY'
  | 'DS'
  | 'RRSIG'
  | 'NSEC'
  | 'NSEC3';

export interface MxData {
  preference: number;
  exchange: string;
}
export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}
export interface TlsaData {
  usage: number;
  selector: number;
  matchingType: number;
  /** Lower-case hex of the certificate association data. */
  data: string;
}
export interface CaaData {
  flags: number;
  tag: string;
  value: string;
}
/** DNSSEC record data is kept as the parsed fields plus the raw RDATA the validator needs. */
export interface DnssecData {
  rdata: Uint8Array;
  [field: string]: unknown;
}

/*
 * Parsed fields of the DNSSEC record types, as libs/net fills them (RFC 4034 §2.1, §5.1, §3.1, §4.1;
 * RFC 5155 §3.2). `RecordData` keeps the loose `DnssecData` so hand-made test records stay valid;
 * a validator narrows to these. `rdata` is always the exact wire RDATA (these types are never
 * name-compressed, RFC 4034 §3.1.7, §4.1.1, RFC 3597 §4).
 */
export interface DnskeyFields extends DnssecData {
  flags: number;
  protocol: number;
  algorithm: number;
  publicKey: Uint8Array;
  /** Key tag computed over the RDATA (RFC 4034 Appendix B). */
  keyTag: number;
}
export interface DsFields extends DnssecData {
  keyTag: number;
  algorithm: number;
  digestType: number;
  /** Lower-case hex of the digest. */
  digest: string;
}
export interface RrsigFields extends DnssecData {
  /** Mnemonic of the covered type, or `TYPE<n>` (RFC 3597 §5). */
  typeCovered: string;
  algorithm: number;
  labels: number;
  originalTtl: number;
  /** Seconds since the epoch, serial-number arithmetic left to the validator (RFC 4034 §3.1.5). */
  expiration: number;
  inception: number;
  keyTag: number;
  /** Lower-case, no trailing dot. */
  signerName: string;
  signature: Uint8Array;
}
export interface NsecFields extends DnssecData {
  /** Lower-case, no trailing dot. */
  nextName: string;
  types: string[];
}
export interface Nsec3Fields extends DnssecData {
  hashAlgorithm: number;
  flags: number;
  iterations: number;
  salt: Uint8Array;
  nextHashedOwner: Uint8Array;
  types: string[];
}

/**
 * One resource record of a response as it came off the wire, handed to the DNSSEC validator
 * when the query set `dnssecOk` (it needs the RRSIGs beside the answer and the NSEC/NSEC3 proofs
 * of the authority section, RFC 4035 §3.1.1-3.1.3).
 */
export interface WireRecord {
  /** Owner name, lower-case, no trailing dot ('.' for the root). */
  name: string;
  /** Type mnemonic, or `TYPE<n>` for types without one (RFC 3597 §5). */
  type: string;
  typeCode: number;
  ttl: number;
  /**
   * The RDATA. Names inside the RDATA of the RFC 1035 types, which senders may compress
   * (RFC 3597 §4), are written out uncompressed; every other type is byte-for-byte as received.
   */
  rdata: Uint8Array;
}

/** Every answer- and authority-section record of the response(s) that produced a result. */
export interface DnssecSections {
  answer: WireRecord[];
  authority: WireRecord[];
}

export interface RecordData {
  A: string;
  AAAA: string;
  MX: MxData;
  /** The character-strings of one TXT record, in order (RFC 1035 §3.3.14); join them for SPF/DKIM. */
  TXT: string[];
  CNAME: string;
  NS: string;
  SOA: SoaData;
  PTR: string;
  TLSA: TlsaData;
  CAA: CaaData;
  DNSKEY: DnssecData;
  DS: DnssecData;
  RRSIG: DnssecData;
  NSEC: DnssecData;
  NSEC3: DnssecData;
}

export type UnknownReason =
  | 'timeout'
  | 'servfail'
  | 'refused'
  | 'formerr'
  | 'notimp'
  | 'malformed'
  | 'truncated'
  | 'too_large'
  | 'cname_loop'
  | 'network';

export type DnsResult<T extends RecordType> =
  | {
      status: 'answer';
      name: string;
      type: T;
      records: RecordData[T][];
      /** Smallest TTL of the answer RRset, seconds. */
      ttlSeconds: number;
      /** Names followed through CNAMEs to reach the answer, first to last. Empty when none. */
      cnameChain: string[];
      /** The AD bit as the upstream resolver set it. Informational only: DNSSEC is validated by us. */
      authenticData: boolean;
      /** Only when the query set `dnssecOk`: the records a validator needs (RRSIGs included). */
      dnssec?: DnssecSections;
    }
  | {
      /** NXDOMAIN: the name does not exist. NODATA: it exists, without records of this type. */
      status: 'nxdomain' | 'nodata';
      name: string;
      type: T;
      ttlSeconds: number;
      cnameChain: string[];
      /** Only when the query set `dnssecOk`: SOA, NSEC/NSEC3 and their RRSIGs (RFC 4035 §3.1.3). */
      dnssec?: DnssecSections;
    }
  | {
      status: 'unknown';
      name: string;
      type: T;
      reason: UnknownReason;
      detail?: string;
    };

export interface QueryOptions {
  /** Set the DNSSEC OK bit (RFC 3225) and return RRSIGs alongside. */
  dnssecOk?: boolean;
  /** Set the Checking Disabled bit (RFC 4035 §3.2.2) so a validating upstream returns bogus data too. */
  checkingDisabled?: boolean;
  /** Ask even if a cached answer exists. */
  bypassCache?: boolean;
}

export interface Resolver {
  query<T extends RecordType>(name: string, type: T, options?: QueryOptions): Promise<DnsResult<T>>;
}
