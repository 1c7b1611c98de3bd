/**
 * TLSA records for SMTP (RFC 6698, RFC 7671, RFC 7672): what each record says, whether an SMTP
 * client may use it, and whether it matches a certificate chain a server presented.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import type { TlsaData } from '@mailwarden/core';

/** RFC 6698 §2.1.1 / RFC 7218 §2.1. */
export const TLSA_USAGE = { PKIX_TA: 0, PKIX_EE: 1, DANE_TA: 2, DANE_EE: 3 } as const;
/** RFC 6698 §2.1.2. */
export const TLSA_SELECTOR = { CERT: 0, SPKI: 1 } as const;
/** RFC 6698 §2.1.3. */
export const TLSA_MATCHING = { FULL: 0, SHA256: 1, SHA512: 2 } as const;
const DIGEST_LENGTH: Record<number, number> = { 1: 32, 2: 64 };
/** Bounds the work one presented chain can cause. */
const MAX_CHAIN_CERTS = 10;
const MAX_TLSA_RECORDS = 32;

export type TlsaProblem =
  /** Usage 0 or 1: SMTP clients ignore PKIX usages (RFC 7672 §3.1.3). */
  | 'pkix_usage'
  | 'unknown_usage'
  | 'unknown_selector'
  | 'unknown_matching_type'
  /** SHA-256 data not 32 octets, SHA-512 data not 64 (RFC 6698 §2.1.3). */
  | 'bad_digest_length'
  | 'empty_data'
  /** Matching type 0 with data that is not a DER certificate (selector 0) or SubjectPublicKeyInfo (1). */
  | 'unparseable_data';

export interface TlsaRecordAnalysis {
  record: TlsaData;
  /** Usable by an SMTP client (RFC 7672 §3.1): DANE-TA or DANE-EE, well formed. */
  usable: boolean;
  problems: TlsaProblem[];
}

export function analyseTlsaRecord(record: TlsaData): TlsaRecordAnalysis {
  const problems: TlsaProblem[] = [];
  const data =
    /^[0-9a-f]*$/i.test(record.data) && record.data.length % 2 === 0 ? Buffer.from(record.data, 'hex') : null;
  if (record.usage === TLSA_USAGE.PKIX_TA || record.usage === TLSA_USAGE.PKIX_EE) problems.push('pkix_usage');
  else if (record.usage !== TLSA_USAGE.DANE_TA && record.usage !== TLSA_USAGE.DANE_EE)
    problems.push('unknown_usage');
  if (record.selector !== TLSA_SELECTOR.CERT && record.selector !== TLSA_SELECTOR.SPKI)
    problems.push('unknown_selector');
  if (![0, 1, 2].includes(record.matchingType)) problems.push('unknown_matching_type');
  if (!data || data.length === 0) problems.push('empty_data');
  else if (
    DIGEST_LENGTH[record.matchingType] !== undefined &&
    data.length !== DIGEST_LENGTH[record.matchingType]
  ) {
    problems.push('bad_digest_length');
  } else if (record.matchingType === TLSA_MATCHING.FULL && !parses(record.selector, data))
    problems.push('unparseable_data');
  return { record, usable: problems.length === 0, problems };
}

function parses(selector: number, data: Buffer): boolean {
  try {
    if (selector === TLSA_SELECTOR.CERT) new X509Certificate(data);
    else if (selector === TLSA_SELECTOR.SPKI) createPublicKey({ key: data, format: 'der', type: 'spki' });
    else return true;
    return true;
  } catch {
    return false;
  }
}

export interface TlsaRecordMatch {
  record: TlsaData;
  matched: boolean;
  /** Index in the presented chain (0 = leaf) of the certificate that matched. */
  certIndex: number | null;
  /** Why it matched or not, in words. */
  reason: string;
}

export interface TlsaMatchResult {
  /** True when at least one usable record matched: the server is authenticated (RFC 7672 §3). */
  matched: boolean;
  records: TlsaRecordMatch[];
  usableRecords: number;
}

export interface MatchTlsaOptions {
  /**
   * Reference identifiers for DANE-TA (RFC 7672 §3.2.2: the TLSA base domain, the MX host name).
   * When given, a DANE-TA match also needs the leaf to carry one of them; DANE-EE never checks
   * names (RFC 7672 §3.2.1).
   */
  referenceNames?: string[];
}

/** The bytes a selector picks from a certificate (RFC 6698 §2.1.2), hashed by the matching type. */
function association(cert: X509Certificate, selector: number, matchingType: number): Buffer | null {
  const raw =
    selector === TLSA_SELECTOR.CERT ? cert.raw : cert.publicKey.export({ type: 'spki', format: 'der' });
  if (matchingType === TLSA_MATCHING.FULL) return Buffer.from(raw);
  if (matchingType === TLSA_MATCHING.SHA256) return createHash('sha256').update(raw).digest();
  if (matchingType === TLSA_MATCHING.SHA512) return createHash('sha512').update(raw).digest();
  return null;
}

/** RFC 7671 §5.2.2: every certificate from the leaf up to the trust anchor must be signed by the next. */
function chainsTo(certs: X509Certificate[], anchorIndex: number): boolean {
  for (let i = 0; i < anchorIndex; i++) {
    const child = certs[i] as X509Certificate;
    const issuer = certs[i + 1] as X509Certificate;
    if (!child.checkIssued(issuer) || !child.verify(issuer.publicKey)) return false;
  }
  return true;
}

/**
 * Matches TLSA records against the chain a server presented (DER, leaf first). DANE-EE (3)
 * matches the leaf only, with no name or expiry checks (RFC 7672 §3.1.1); DANE-TA (2) matches an
 * issuer in the chain, which must then sign its way down to the leaf (RFC 7672 §3.1.2); PKIX
 * usages are never used for SMTP (RFC 7672 §3.1.3).
 */
export function matchTlsa(
  records: TlsaData[],
  chainDer: Uint8Array[],
  options: MatchTlsaOptions = {},
): TlsaMatchResult {
  const certs: X509Certificate[] = [];
  let parseError = false;
  for (const der of chainDer.slice(0, MAX_CHAIN_CERTS)) {
    try {
      certs.push(new X509Certificate(Buffer.from(der)));
    } catch {
      parseError = true;
      break;
    }
  }
  let usableRecords = 0;
  const out: TlsaRecordMatch[] = records.slice(0, MAX_TLSA_RECORDS).map((record) => {
    const analysis = analyseTlsaRecord(record);
    const no = (reason: string): TlsaRecordMatch => ({ record, matched: false, certIndex: null, reason });
    if (!analysis.usable) return no(`unusable record: ${analysis.problems.join(', ')}`);
    usableRecords++;
    if (certs.length === 0)
      return no(parseError ? 'the presented leaf certificate cannot be parsed' : 'no certificate presented');
    const wanted = Buffer.from(record.data, 'hex');
    const candidates = record.usage === TLSA_USAGE.DANE_EE ? [0] : certs.map((_, i) => i).slice(1);
    for (const i of candidates) {
      const got = association(certs[i] as X509Certificate, record.selector, record.matchingType);
      if (!got?.equals(wanted)) continue;
      if (record.usage === TLSA_USAGE.DANE_EE)
        return { record, matched: true, certIndex: 0, reason: 'DANE-EE: the leaf matches' };
      if (!chainsTo(certs, i))
        return no(`DANE-TA: certificate ${i} matches, but the chain below it does not verify`);
      const names = options.referenceNames ?? [];
      const leaf = certs[0] as X509Certificate;
      if (names.length > 0 && !names.some((n) => leaf.checkHost(n) !== undefined)) {
        return no(`DANE-TA: certificate ${i} matches, but the leaf names none of ${names.join(', ')}`);
      }
      return {
        record,
        matched: true,
        certIndex: i,
        reason: `DANE-TA: certificate ${i} matches and signs the chain down to the leaf`,
      };
    }
    return no(
      record.usage === TLSA_USAGE.DANE_EE
        ? 'DANE-EE: the leaf does not match'
        : 'DANE-TA: no issuer certificate in the chain matches',
    );
  });
  return { matched: out.some((r) => r.matched), records: out, usableRecords };
}
