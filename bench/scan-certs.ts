/**
 * Benchmark helper for bench/scan-throughput.bench.ts: X.509 certificates built in-process, one
 * per benchmark domain. A real MTA-STS host has a certificate for its own name, so the benchmark
 * gives each of its 10 000 `mta-sts.<domain>` names one (a wildcard covers one label only, and one
 * certificate with 10 000 names would make every handshake carry 300 KB). Spawning openssl 10 000
 * times would take minutes; building the DER here takes one ECDSA signature per certificate.
 *
 * Minimal on purpose: v3, ECDSA P-256 with SHA-256, CN + subjectAltName, basicConstraints and
 * keyUsage — what OpenSSL's verifier needs to accept a chain (RFC 5280 §4.1, §4.2.1.3, §4.2.1.9).
 */
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag, ...lengthBytes(body.length)]), body]);
}

const sequence = (...parts: Buffer[]) => tlv(0x30, ...parts);
const set = (...parts: Buffer[]) => tlv(0x31, ...parts);
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);
const octets = (bytes: Buffer) => tlv(0x04, bytes);
const boolean = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0]));
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));

function integer(bytes: Buffer): Buffer {
  // DER integers are signed: a leading 1 bit needs a zero byte in front to stay positive.
  return tlv(0x02, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const base128: number[] = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) base128.unshift(0x80 | (v & 0x7f));
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime, YYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.1; fine until 2049). */
function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return tlv(0x17, Buffer.from(`${text}Z`));
}

/** A BIT STRING holding key-usage bits (RFC 5280 §4.2.1.3: bit 0 is the high bit). */
function keyUsage(bits: number[]): Buffer {
  let byte = 0;
  for (const bit of bits) byte |= 0x80 >> bit;
  const unused = byte === 0 ? 0 : Math.min(...bits.map((bit) => 7 - bit));
  return tlv(0x03, Buffer.from([unused, byte]));
}

const ECDSA_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const commonName = (cn: string) => sequence(set(sequence(oid('2.5.4.3'), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) =>
  sequence(oid(id), ...(critical ? [boolean(true)] : []), octets(value));

function toPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

interface CertSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  ca: boolean;
  dnsNames: string[];
}

function certificate(spec: CertSpec): string {
  const now = Date.now();
  const extensions = [
    extension('2.5.29.19', true, spec.ca ? sequence(boolean(true)) : sequence()),
    extension('2.5.29.15', true, spec.ca ? keyUsage([5, 6]) : keyUsage([0])),
    ...(spec.dnsNames.length > 0
      ? [
          extension(
            '2.5.29.17',
            false,
            sequence(...spec.dnsNames.map((n) => tlv(0x82, Buffer.from(n, 'ascii')))),
          ),
        ]
      : []),
  ];
  const serial = randomBytes(12);
  // Positive and minimal (DER forbids a redundant leading zero byte).
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_SHA256,
    commonName(spec.issuer),
    // An hour back: clock skew between the benchmark's processes cannot make it "not yet valid".
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 7 * 86_400_000))),
    commonName(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, spec.signingKey);
  return toPem(sequence(tbs, ECDSA_SHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))));
}

export interface BenchPki {
  caPem: string;
  /** The one private key every leaf uses (PEM); sharing it changes nothing in the handshake cost. */
  leafKeyPem: string;
  /** A leaf for `name`, signed by the CA; returns the chain (leaf then CA) in PEM. */
  leafChain(name: string): string;
}

export function createBenchPki(): BenchPki {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = 'Mailwarden Bench CA';
  const caPem = certificate({
    subject: caName,
    issuer: caName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    ca: true,
    dnsNames: [],
  });
  const leafKeyPem = leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    caPem,
    leafKeyPem,
    leafChain: (name) =>
      `${certificate({ subject: name, issuer: caName, publicKey: leaf.publicKey, signingKey: ca.privateKey, ca: false, dnsNames: [name] })}${caPem}`,
  };
}
