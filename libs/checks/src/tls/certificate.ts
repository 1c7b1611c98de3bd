/**
 * What a certificate says, from its DER: names, validity, key, signature algorithm. Pure (node:crypto
 * parses; nothing is fetched). The signature algorithm is read from the outer Certificate structure
 * (RFC 5280 §4.1.1.2) with a small bounded DER walk, because not every supported Node exposes it.
 */
import { X509Certificate } from 'node:crypto';

export interface CertificateSummary {
  subject: string;
  issuer: string;
  /** dNSName entries of subjectAltName, lower-case. */
  dnsNames: string[];
  /** The subject CN, used for names only when there is no dNSName at all (RFC 6125 §6.4.4). */
  commonName?: string;
  notBefore: string;
  notAfter: string;
  serialNumber: string;
  fingerprint256: string;
  /** Issued by itself and verifiable with its own key. */
  selfSigned: boolean;
  isCa: boolean;
  key: { type: string; bits?: number; curve?: string };
  signature: { oid: string; name: string; hash?: string };
}

/** RFC 3279, RFC 4055, RFC 5758, RFC 8410 algorithm identifiers. */
const SIGNATURE_ALGORITHMS: Record<string, { name: string; hash?: string }> = {
  '1.2.840.113549.1.1.2': { name: 'md2WithRSAEncryption', hash: 'md2' },
  '1.2.840.113549.1.1.3': { name: 'md4WithRSAEncryption', hash: 'md4' },
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', hash: 'md5' },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', hash: 'sha1' },
  '1.2.840.113549.1.1.10': { name: 'RSASSA-PSS' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption', hash: 'sha224' },
  '1.2.840.10040.4.3': { name: 'dsa-with-sha1', hash: 'sha1' },
  '2.16.840.1.101.3.4.3.2': { name: 'dsa-with-sha256', hash: 'sha256' },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { name: 'ecdsa-with-SHA224', hash: 'sha224' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512' },
  '1.3.101.112': { name: 'Ed25519' },
  '1.3.101.113': { name: 'Ed448' },
};

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

/** One DER TLV at `offset` (definite lengths only, as DER requires), or undefined. */
function tlv(der: Uint8Array, offset: number): Tlv | undefined {
  if (offset + 2 > der.length) return undefined;
  const tag = der[offset] as number;
  let length = der[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > der.length) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] as number);
    start += count;
  }
  const end = start + length;
  return end <= der.length ? { tag, start, end } : undefined;
}

function decodeOid(bytes: Uint8Array): string {
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (parts.length === 0)
        parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** The TLV at `offset` when it has the expected tag. */
function expect(der: Uint8Array, offset: number, tag: number): Tlv | undefined {
  const t = tlv(der, offset);
  return t?.tag === tag ? t : undefined;
}

const SEQUENCE = 0x30;
const OBJECT_IDENTIFIER = 0x06;

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signature }. */
export function signatureAlgorithmOid(der: Uint8Array): string | undefined {
  const cert = expect(der, 0, SEQUENCE);
  const tbs = cert && expect(der, cert.start, SEQUENCE);
  const algorithm = tbs && expect(der, tbs.end, SEQUENCE);
  const oid = algorithm && expect(der, algorithm.start, OBJECT_IDENTIFIER);
  return oid ? decodeOid(der.subarray(oid.start, oid.end)) : undefined;
}

function dnsNamesOf(san: string | undefined): string[] {
  if (!san) return [];
  return san
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
}

export function summariseCertificate(der: Uint8Array): CertificateSummary | undefined {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    return undefined;
  }
  const oid = signatureAlgorithmOid(der) ?? 'unknown';
  const algorithm = SIGNATURE_ALGORITHMS[oid] ?? { name: oid };
  const keyDetails = x509.publicKey.asymmetricKeyDetails ?? {};
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x509.subject)?.[1];
  let selfSigned = false;
  try {
    selfSigned = x509.checkIssued(x509) && x509.verify(x509.publicKey);
  } catch {
    selfSigned = false;
  }
  return {
    subject: x509.subject.replace(/\n/g, ', '),
    issuer: x509.issuer.replace(/\n/g, ', '),
    dnsNames: dnsNamesOf(x509.subjectAltName),
    ...(cn ? { commonName: cn.toLowerCase() } : {}),
    notBefore: new Date(x509.validFrom).toISOString(),
    notAfter: new Date(x509.validTo).toISOString(),
    serialNumber: x509.serialNumber,
    fingerprint256: x509.fingerprint256,
    selfSigned,
    isCa: x509.ca,
    key: {
      type: x509.publicKey.asymmetricKeyType ?? 'unknown',
      ...(keyDetails.modulusLength ? { bits: keyDetails.modulusLength } : {}),
      ...(keyDetails.namedCurve ? { curve: keyDetails.namedCurve } : {}),
    },
    signature: { oid, ...algorithm },
  };
}

/** Curves below 256 bits (RFC 9325 §4.1 asks for 128-bit security). */
const WEAK_CURVES = new Set(['secp112r1', 'secp128r1', 'secp160r1', 'secp192r1', 'prime192v1', 'secp224r1']);
export const MIN_RSA_BITS = 2048;

/** Why a key is weak (NIST SP 800-131A: RSA below 2048 bits, any DSA; curves below 256 bits), or undefined. */
export function weakKeyReason(key: CertificateSummary['key']): string | undefined {
  if ((key.type === 'rsa' || key.type === 'rsa-pss') && key.bits !== undefined && key.bits < MIN_RSA_BITS) {
    return `RSA ${key.bits} bits (minimum ${MIN_RSA_BITS})`;
  }
  if (key.type === 'dsa')
    return `DSA ${key.bits ?? '?'} bits (DSA is not used for TLS certificates any more)`;
  if (key.type === 'ec' && key.curve && WEAK_CURVES.has(key.curve)) return `EC curve ${key.curve}`;
  return undefined;
}

/** MD2, MD4, MD5 and SHA-1 signatures can be forged (RFC 6151, RFC 9155, SHAttered). */
export function weakSignatureReason(signature: CertificateSummary['signature']): string | undefined {
  return signature.hash && ['md2', 'md4', 'md5', 'sha1'].includes(signature.hash)
    ? `${signature.name} (${signature.hash.toUpperCase()})`
    : undefined;
}
