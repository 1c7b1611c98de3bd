/**
 * An in-memory `Resolver` (libs/core/src/dns.ts) built from a declarative zone, for unit tests of
 * the pure checks. It gives the three outcomes DESIGN.md §3 keeps apart: answers, proven absence
 * (NXDOMAIN for a name that does not exist, NODATA for one that exists without the asked type,
 * RFC 2308 §2; empty non-terminals are NODATA, RFC 8020), and `unknown` for names marked as
 * failing. It follows CNAMEs like a recursive resolver and logs every query in `calls`, so tests
 * can assert lookup counts and order.
 *
 * Zone shape: `{ 'name.example': { A: ['192.0.2.1'], TXT: ['v=spf1 -all'], MX: [...] } }`.
 * A TXT value given as one string is split into 255-octet character-strings as a zone file
 * would be (RFC 1035 §3.3.14); given as an array it is served string by string, unchanged, so a
 * test can also serve strings no wire format allows.
 */
import type {
  DnsResult,
  MxData,
  QueryOptions,
  RecordData,
  RecordType,
  Resolver,
  UnknownReason,
} from '@mailwarden/core';

export type ZoneValue<T extends RecordType> = T extends 'TXT'
  ? string | string[]
  : T extends 'MX'
    ? MxData | [preference: number, exchange: string]
    : RecordData[T];

export type ZoneNode = { [T in RecordType]?: ZoneValue<T>[] } & {
  /**
   * Makes queries at this name end in `unknown`: with a bare reason, for every type that has no
   * records here (the openspf test suite's `TIMEOUT` marker); with `types`, for those types only.
   */
  unknown?: UnknownReason | { reason: UnknownReason; types: RecordType[] };
};

export type Zone = Record<string, ZoneNode>;

export interface ZoneQuery {
  name: string;
  type: RecordType;
}

export interface ZoneResolver extends Resolver {
  /** Every query asked, in order. */
  readonly calls: ZoneQuery[];
}

export interface ZoneResolverOptions {
  ttlSeconds?: number;
  /** CNAMEs followed before the answer is `unknown` (`cname_loop`). Default 8. */
  maxCnameHops?: number;
}

const MAX_CHARACTER_STRING = 255; // RFC 1035 §3.3
const DEFAULT_TTL_SECONDS = 300;
const DEFAULT_MAX_CNAME_HOPS = 8;

function canonical(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

function withoutDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function splitCharacterStrings(text: string): string[] {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= MAX_CHARACTER_STRING) return [text];
  const decoder = new TextDecoder();
  const strings: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += MAX_CHARACTER_STRING) {
    strings.push(decoder.decode(bytes.slice(offset, offset + MAX_CHARACTER_STRING)));
  }
  return strings;
}

/** Turns the zone's convenient shapes into the RDATA shapes of core's `RecordData`. */
function toRecord<T extends RecordType>(type: T, value: ZoneValue<T>): RecordData[T] {
  switch (type) {
    case 'TXT':
      return (
        typeof value === 'string' ? splitCharacterStrings(value) : [...(value as string[])]
      ) as RecordData[T];
    case 'MX': {
      const mx = value as ZoneValue<'MX'>;
      const [preference, exchange] = Array.isArray(mx) ? mx : [mx.preference, mx.exchange];
      return { preference, exchange: withoutDot(exchange) } as RecordData[T];
    }
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return withoutDot(value as string) as RecordData[T];
    default:
      return value as RecordData[T];
  }
}

function failureFor(node: ZoneNode, type: RecordType): UnknownReason | undefined {
  const marker = node.unknown;
  if (marker === undefined) return undefined;
  if (typeof marker === 'string') return (node[type]?.length ?? 0) === 0 ? marker : undefined;
  return marker.types.includes(type) ? marker.reason : undefined;
}

export function createZoneResolver(zone: Zone, options: ZoneResolverOptions = {}): ZoneResolver {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const maxHops = options.maxCnameHops ?? DEFAULT_MAX_CNAME_HOPS;
  const nodes = new Map<string, ZoneNode>();
  for (const [name, node] of Object.entries(zone)) nodes.set(canonical(name), node);
  const names = [...nodes.keys()];
  const calls: ZoneQuery[] = [];

  /** RFC 8020: a name with something below it exists, even without records of its own. */
  const exists = (name: string) =>
    name === '' || nodes.has(name) || names.some((other) => other.endsWith(`.${name}`));

  async function query<T extends RecordType>(
    name: string,
    type: T,
    _options?: QueryOptions,
  ): Promise<DnsResult<T>> {
    calls.push({ name, type });
    const cnameChain: string[] = [];
    let current = canonical(name);
    for (let hop = 0; hop <= maxHops; hop++) {
      const node = nodes.get(current);
      const reason = node ? failureFor(node, type) : undefined;
      if (reason) return { status: 'unknown', name, type, reason };
      const values = node?.[type] as ZoneValue<T>[] | undefined;
      if (values && values.length > 0) {
        const records = values.map((value) => toRecord(type, value));
        return { status: 'answer', name, type, records, ttlSeconds, cnameChain, authenticData: false };
      }
      const cname = node?.CNAME?.[0];
      if (cname === undefined || type === 'CNAME') {
        const status = node || exists(current) ? 'nodata' : 'nxdomain';
        return { status, name, type, ttlSeconds, cnameChain };
      }
      current = canonical(cname);
      cnameChain.push(current);
    }
    return { status: 'unknown', name, type, reason: 'cname_loop', detail: cnameChain.join(' -> ') };
  }

  return { calls, query };
}
