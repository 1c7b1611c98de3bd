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
    }
  | {
      /** NXDOMAIN: the name does not exist. NODATA: it exists, without records of this type. */
      status: 'nxdomain' | 'nodata';
      name: string;
      type: T;
      ttlSeconds: number;
      cnameChain: string[];
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
