/**
 * What a guarded TLS connection reports about its peer, and the trust store it verifies against:
 * Node's bundled Mozilla roots plus any extra CA certificates (TLS_EXTRA_CA_FILE).
 */
import tls from 'node:tls';

/** Secure contexts with ~150 roots are costly to build; a process uses few distinct CA sets. */
const MAX_CACHED_TRUST_CONTEXTS = 16;
const trustContexts = new Map<string, tls.SecureContext>();

export function trustContext(extraCa: readonly string[]): tls.SecureContext {
  const key = extraCa.join('\n');
  let ctx = trustContexts.get(key);
  if (!ctx) {
    ctx = tls.createSecureContext({ ca: [...tls.rootCertificates, ...extraCa] });
    if (trustContexts.size >= MAX_CACHED_TRUST_CONTEXTS) {
      const oldest = trustContexts.keys().next().value;
      if (oldest !== undefined) trustContexts.delete(oldest);
    }
    trustContexts.set(key, ctx);
  }
  return ctx;
}

export interface PeerCertificateInfo {
  subject: string;
  issuer: string;
  /** Entries of subjectAltName as Node prints them: `DNS:mta-sts.example.com`, `IP Address:…`. */
  subjectAltNames: string[];
  validFrom: string;
  validTo: string;
  serialNumber: string;
  fingerprint256: string;
  selfSigned: boolean;
}

export interface TlsSessionInfo {
  authorized: boolean;
  /** OpenSSL verify code (`CERT_HAS_EXPIRED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, …) or Node's
   * `ERR_TLS_CERT_ALTNAME_INVALID` when the name does not match. */
  authorizationError?: string;
  protocol: string | null;
  cipher?: string;
  alpnProtocol?: string;
  certificate?: PeerCertificateInfo;
}

function isoDate(text: string): string {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text : d.toISOString();
}

export function tlsSessionInfo(socket: tls.TLSSocket): TlsSessionInfo {
  const info: TlsSessionInfo = { authorized: socket.authorized, protocol: socket.getProtocol() };
  if (!socket.authorized && socket.authorizationError)
    info.authorizationError = String(socket.authorizationError);
  const cipher = socket.getCipher();
  if (cipher) info.cipher = cipher.standardName ?? cipher.name;
  if (typeof socket.alpnProtocol === 'string') info.alpnProtocol = socket.alpnProtocol;
  const x509 = socket.getPeerX509Certificate();
  if (x509) {
    info.certificate = {
      subject: x509.subject,
      issuer: x509.issuer,
      subjectAltNames: (x509.subjectAltName ?? '').split(', ').filter((s) => s !== ''),
      validFrom: isoDate(x509.validFrom),
      validTo: isoDate(x509.validTo),
      serialNumber: x509.serialNumber,
      fingerprint256: x509.fingerprint256,
      selfSigned: x509.checkIssued(x509) && x509.verify(x509.publicKey),
    };
  }
  return info;
}
