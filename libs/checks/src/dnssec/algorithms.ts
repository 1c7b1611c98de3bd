/**
 * DNSSEC algorithms (IANA "DNS Security Algorithm Numbers", RFC 8624 for what to implement) mapped
 * onto node:crypto, and DS digests (RFC 4034 §5.1.4, RFC 4509, RFC 6605 §2).
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';

export type AlgorithmStatus =
  /** Validated, and fine to sign with (RFC 8624 §3.1 MUST/RECOMMENDED). */
  | 'ok'
  /** Validated, but SHA-1 based and deprecated for signing (RFC 8624 §3.1, RFC 9905). */
  | 'weak'
  /** Not validated: the zone is treated as unsigned where only these are offered (RFC 4035 §5.2). */
  | 'unsupported';

export interface AlgorithmInfo {
  number: number;
  mnemonic: string;
  status: AlgorithmStatus;
}

interface Verifier extends AlgorithmInfo {
  hash: string | null;
  keyOf(publicKey: Buffer): KeyObject | null;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** RFC 3110 §2: exponent length (one octet, or zero then two), exponent, modulus. */
function rsaKey(publicKey: Buffer): KeyObject | null {
  let o = 1;
  let expLength = publicKey[0] ?? 0;
  if (expLength === 0) {
    if (publicKey.length < 3) return null;
    expLength = publicKey.readUInt16BE(1);
    o = 3;
  }
  const e = publicKey.subarray(o, o + expLength);
  const n = publicKey.subarray(o + expLength);
  // RFC 3110 §2 and RFC 5702 §2: moduli of 512 to 4096 bits; anything else is not a usable key.
  if (e.length === 0 || e.length !== expLength || n.length < 64 || n.length > 512) return null;
  return createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
}

/** RFC 6605 §4: the point as x | y, 32 or 48 octets each. */
function ecKey(curve: 'P-256' | 'P-384', size: number) {
  return (publicKey: Buffer): KeyObject | null => {
    if (publicKey.length !== size * 2) return null;
    const x = b64url(publicKey.subarray(0, size));
    const y = b64url(publicKey.subarray(size));
    return createPublicKey({ key: { kty: 'EC', crv: curve, x, y }, format: 'jwk' });
  };
}

/** RFC 8080 §3: the raw public key, 32 octets for Ed25519 and 57 for Ed448. */
function edKey(curve: 'Ed25519' | 'Ed448', size: number) {
  return (publicKey: Buffer): KeyObject | null =>
    publicKey.length === size
      ? createPublicKey({ key: { kty: 'OKP', crv: curve, x: b64url(publicKey) }, format: 'jwk' })
      : null;
}

const none = () => null;

const TABLE: Verifier[] = [
  { number: 1, mnemonic: 'RSAMD5', status: 'unsupported', hash: null, keyOf: none },
  { number: 3, mnemonic: 'DSA', status: 'unsupported', hash: null, keyOf: none },
  { number: 5, mnemonic: 'RSASHA1', status: 'weak', hash: 'sha1', keyOf: rsaKey },
  { number: 6, mnemonic: 'DSA-NSEC3-SHA1', status: 'unsupported', hash: null, keyOf: none },
  { number: 7, mnemonic: 'RSASHA1-NSEC3-SHA1', status: 'weak', hash: 'sha1', keyOf: rsaKey },
  { number: 8, mnemonic: 'RSASHA256', status: 'ok', hash: 'sha256', keyOf: rsaKey },
  { number: 10, mnemonic: 'RSASHA512', status: 'ok', hash: 'sha512', keyOf: rsaKey },
  { number: 12, mnemonic: 'ECC-GOST', status: 'unsupported', hash: null, keyOf: none },
  { number: 13, mnemonic: 'ECDSAP256SHA256', status: 'ok', hash: 'sha256', keyOf: ecKey('P-256', 32) },
  { number: 14, mnemonic: 'ECDSAP384SHA384', status: 'ok', hash: 'sha384', keyOf: ecKey('P-384', 48) },
  { number: 15, mnemonic: 'ED25519', status: 'ok', hash: null, keyOf: edKey('Ed25519', 32) },
  { number: 16, mnemonic: 'ED448', status: 'ok', hash: null, keyOf: edKey('Ed448', 57) },
];
const BY_NUMBER = new Map(TABLE.map((v) => [v.number, v]));

export function algorithmInfo(number: number): AlgorithmInfo {
  const v = BY_NUMBER.get(number);
  return v
    ? { number, mnemonic: v.mnemonic, status: v.status }
    : { number, mnemonic: `ALG${number}`, status: 'unsupported' };
}

export function isSupportedAlgorithm(number: number): boolean {
  const v = BY_NUMBER.get(number);
  return v !== undefined && v.status !== 'unsupported';
}

/** A DNSKEY's public key as a KeyObject; null when the algorithm is unsupported or the key malformed. */
export function publicKeyOf(algorithm: number, publicKey: Buffer): KeyObject | null {
  const v = BY_NUMBER.get(algorithm);
  if (!v || v.status === 'unsupported') return null;
  try {
    return v.keyOf(publicKey);
  } catch {
    return null;
  }
}

/**
 * Verifies one signature. ECDSA signatures are r | s (RFC 6605 §4), which node calls
 * `ieee-p1363`; RSA signatures are PKCS #1 v1.5 (RFC 3110 §3, RFC 5702 §3).
 */
export function verifySignature(algorithm: number, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const v = BY_NUMBER.get(algorithm);
  if (!v || v.status === 'unsupported') return false;
  try {
    if (key.asymmetricKeyType === 'ec')
      return verify(v.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    return verify(v.hash, data, key, signature);
  } catch {
    return false;
  }
}

export interface DigestInfo {
  number: number;
  mnemonic: string;
  status: AlgorithmStatus;
  hash: string | null;
  length: number;
}

const DIGESTS: DigestInfo[] = [
  // RFC 4034 §5.1.4, deprecated for new DS records by RFC 8624 §3.3 but still validated.
  { number: 1, mnemonic: 'SHA-1', status: 'weak', hash: 'sha1', length: 20 },
  { number: 2, mnemonic: 'SHA-256', status: 'ok', hash: 'sha256', length: 32 },
  { number: 3, mnemonic: 'GOST R 34.11-94', status: 'unsupported', hash: null, length: 32 },
  { number: 4, mnemonic: 'SHA-384', status: 'ok', hash: 'sha384', length: 48 },
];

export function digestInfo(number: number): DigestInfo {
  return (
    DIGESTS.find((d) => d.number === number) ?? {
      number,
      mnemonic: `DIGEST${number}`,
      status: 'unsupported',
      hash: null,
      length: 0,
    }
  );
}

/** RFC 4034 §5.1.4: digest = hash(owner name in canonical wire form | DNSKEY RDATA). */
export function dsDigest(digestType: number, ownerWire: Buffer, dnskeyRdata: Buffer): Buffer | null {
  const info = digestInfo(digestType);
  if (!info.hash || info.status === 'unsupported') return null;
  return createHash(info.hash).update(ownerWire).update(dnskeyRdata).digest();
}
