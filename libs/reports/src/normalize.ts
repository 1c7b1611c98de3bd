/** Small normalisers shared by the report parsers: reporters differ in case, spacing and form. */
import { formatIp, parseIp, unmapIPv4 } from '@mailwarden/core';

/** Trimmed text, or null when nothing is left. */
export function clean(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  const trimmed = text.trim();
  return trimmed === '' ? null : trimmed;
}

export function lower(text: string | null | undefined): string | null {
  const value = clean(text);
  return value === null ? null : value.toLowerCase();
}

/** Lower case, no trailing root dot: `Example.COM.` and `example.com` are one domain. */
export function domainName(text: string | null | undefined): string | null {
  const value = lower(text);
  if (value === null) return null;
  const bare = value.endsWith('.') ? value.slice(0, -1) : value;
  return bare === '' ? null : bare;
}

/**
 * A copy of `text` that shares no memory with the input it was cut from. V8 keeps a substring of
 * 13 characters or more as a view of its parent, so one IP kept from a record (in a cache, in a
 * map of failing sources) would keep the whole 64 KiB text chunk it was parsed from alive.
 * Prepending a character makes V8 flatten a copy, which `slice` then views.
 */
export function ownString(text: string): string {
  return text.length < 13 ? text : ` ${text}`.slice(1);
}

const ipCache = new Map<string, string | null>();
const IP_CACHE_SIZE = 4096;

/** Already canonical IPv4 (RFC 3986 dec-octets, no leading zeros): most report IPs. */
const CANONICAL_IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * The canonical text of an IP (libs/core's one parser): RFC 5952 for IPv6, IPv4-mapped IPv6 as
 * IPv4. Lenient about leading zeros in IPv4 octets, which some reporters write; null otherwise.
 * Memoised, because reports repeat the same sources many times. The result never views the
 * input (`ownString`): callers keep IPs for as long as a report lasts.
 */
export function canonicalIp(text: string): string | null {
  if (CANONICAL_IPV4.test(text)) return ownString(text);
  const cached = ipCache.get(text);
  if (cached !== undefined) return cached;
  let value = text.trim();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  let address = parseIp(value);
  if (!address && /^\d{1,3}(\.\d{1,3}){3}$/.test(value))
    address = parseIp(
      value
        .split('.')
        .map((octet) => String(Number(octet)))
        .join('.'),
    );
  const result = address ? formatIp(unmapIPv4(address)) : null;
  if (ipCache.size >= IP_CACHE_SIZE) ipCache.clear();
  ipCache.set(ownString(text), result);
  return result;
}

/**
 * A report timestamp: epoch seconds (as the RFCs say; floats like `1337270400.0` from old NetEase
 * reports are floored), epoch milliseconds (13 digits), or an ISO 8601 date. Null otherwise.
 */
export function reportTime(text: string | null): Date | null {
  const value = clean(text);
  if (value === null) return null;
  if (/^\d{1,16}(\.\d*)?$/.test(value)) {
    const number = Math.floor(Number(value));
    return new Date(number > 1e11 ? number : number * 1000);
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  return null;
}

/** A non-negative integer (floats floored), or null. */
export function nonNegativeInteger(text: string | null): number | null {
  const value = clean(text);
  if (value === null || !/^\+?\d{1,16}(\.\d*)?$/.test(value)) return null;
  return Math.min(Math.floor(Number(value)), Number.MAX_SAFE_INTEGER);
}
