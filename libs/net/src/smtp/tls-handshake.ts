/**
 * TLS for the MX probe: the client profiles it offers, the handshake over an already connected
 * socket (after STARTTLS, or at once for implicit TLS), and what it records from the session.
 *
 * The main handshake offers what a modern sending MTA offers (Node's default cipher list, TLS 1.0
 * to 1.3) at OpenSSL security level 0, so that a server with a 1024-bit key, a SHA-1 chain or only
 * TLS 1.0 still completes the handshake and shows its certificate: judging those is the checks'
 * job, refusing to look is not. Verification is never enforced here (`rejectUnauthorized: false`);
 * the verify result is recorded, and the host name is matched later against the MX name.
 *
 * SSLv3 cannot be probed: Node's OpenSSL is built without it, so no SSLv3 ClientHello can be sent.
 * RC4, single DES, 3DES and export suites are probed only when the running OpenSSL can still offer
 * them; `cipherSuiteOfferable` says which (on Node 20 to 24 builds, none of them).
 */
import type { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { CipherCategory, TlsObservation, TlsVersionName } from './types.ts';

/** No sane chain is longer; the walk stops here on a hostile one. */
export const MAX_CHAIN_CERTIFICATES = 10;
const LOW_SECURITY = '@SECLEVEL=0';

export interface ClientProfile {
  minVersion: tls.SecureVersion;
  maxVersion: tls.SecureVersion;
  ciphers: string;
  /** Trust store for the verify result: Node's roots plus these PEMs. Omitted: Node's roots. */
  extraCa?: readonly string[];
}

export function mainProfile(extraCa: readonly string[] = []): ClientProfile {
  return {
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1.3',
    ciphers: `${tls.DEFAULT_CIPHERS}:${LOW_SECURITY}`,
    extraCa,
  };
}

/** Offers only `version`, with every suite this OpenSSL has, so the version is the only variable. */
export function versionProfile(version: Exclude<TlsVersionName, 'SSLv3'>): ClientProfile {
  return { minVersion: version, maxVersion: version, ciphers: `ALL:${LOW_SECURITY}` };
}

/** OpenSSL cipher strings per weak category. TLS 1.3 has none of these, so offers stop at 1.2. */
export const CIPHER_CATEGORY_STRINGS: Record<CipherCategory, string> = {
  null: 'eNULL',
  anonymous: 'aNULL:!eNULL',
  export: 'EXPORT',
  des: 'DES:!3DES',
  rc4: 'RC4',
  '3des': '3DES',
  static_rsa: 'kRSA:!eNULL',
};

export function cipherProfile(category: CipherCategory): ClientProfile {
  return {
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1.2',
    ciphers: `${CIPHER_CATEGORY_STRINGS[category]}:${LOW_SECURITY}`,
  };
}

/** Secure contexts with ~150 roots are costly to build; a process uses a handful of profiles. */
const MAX_CACHED_CONTEXTS = 32;
const contexts = new Map<string, tls.SecureContext | null>();

/** The context for a profile, or null when this OpenSSL cannot offer it at all. */
export function contextFor(profile: ClientProfile): tls.SecureContext | null {
  const key = JSON.stringify([profile.minVersion, profile.maxVersion, profile.ciphers, profile.extraCa]);
  const cached = contexts.get(key);
  if (cached !== undefined) return cached;
  let ctx: tls.SecureContext | null;
  try {
    ctx = tls.createSecureContext({
      minVersion: profile.minVersion,
      maxVersion: profile.maxVersion,
      ciphers: profile.ciphers,
      ...(profile.extraCa && profile.extraCa.length > 0
        ? { ca: [...tls.rootCertificates, ...profile.extraCa] }
        : {}),
    });
  } catch {
    // ERR_SSL_NO_CIPHER_MATCH: the build has no suite of this kind.
    ctx = null;
  }
  if (contexts.size >= MAX_CACHED_CONTEXTS) {
    const oldest = contexts.keys().next().value;
    if (oldest !== undefined) contexts.delete(oldest);
  }
  contexts.set(key, ctx);
  return ctx;
}

export function cipherSuiteOfferable(category: CipherCategory): boolean {
  return contextFor(cipherProfile(category)) !== null;
}

export type HandshakeFailureKind = 'timeout' | 'reset' | 'closed' | 'tls_alert' | 'client_unsupported';

export type HandshakeResult =
  | { ok: true; socket: tls.TLSSocket; handshakeMs: number }
  | { ok: false; kind: HandshakeFailureKind; code: string; detail: string };

function failureKind(err: NodeJS.ErrnoException): HandshakeFailureKind {
  const code = err.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  if (code === 'ERR_SSL_NO_CIPHERS_AVAILABLE' || code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE')
    return 'client_unsupported';
  return 'tls_alert';
}

/**
 * Runs a client handshake over `socket` with SNI = `servername` (RFC 6066 §3: names only, never
 * an address). Destroys the socket on failure.
 */
export function handshake(
  socket: net.Socket,
  servername: string,
  ctx: tls.SecureContext,
  timeoutMs: number,
): Promise<HandshakeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const secure = tls.connect({
      socket,
      secureContext: ctx,
      ...(net.isIP(servername) ? {} : { servername }),
      rejectUnauthorized: false,
      // The name is matched by the checks against the MX name; here only the chain is verified.
      checkServerIdentity: () => undefined,
    });
    const finish = (r: HandshakeResult) => {
      clearTimeout(timer);
      secure.off('secureConnect', onSecure);
      secure.off('error', onError);
      secure.off('close', onClose);
      if (!r.ok) {
        secure.on('error', () => {});
        secure.destroy();
        socket.destroy();
      }
      resolve(r);
    };
    const onSecure = () => finish({ ok: true, socket: secure, handshakeMs: performance.now() - started });
    const onError = (err: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        kind: failureKind(err),
        code: err.code ?? 'ERR_TLS',
        // OpenSSL's messages carry source paths and a trailing newline; the first line says it.
        detail: (err.message.split('\n')[0] ?? '').slice(0, 300),
      });
    const onClose = () =>
      finish({ ok: false, kind: 'closed', code: 'ECONNRESET', detail: 'closed during the TLS handshake' });
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          kind: 'timeout',
          code: 'ETIMEDOUT',
          detail: `no handshake within ${timeoutMs} ms`,
        }),
      Math.max(0, timeoutMs),
    );
    secure.once('secureConnect', onSecure);
    secure.once('error', onError);
    secure.once('close', onClose);
  });
}

/**
 * The certificates of the session, DER, leaf first. `getPeerX509Certificate()` with its
 * `issuerCertificate` links gives the same chain as `getPeerCertificate(true)` without building
 * the legacy object of every certificate (a third of a probe's CPU time on loopback).
 */
export function peerChainDer(socket: tls.TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  const seen = new Set<string>();
  let cert: X509Certificate | undefined = socket.getPeerX509Certificate();
  while (cert && chain.length < MAX_CHAIN_CERTIFICATES && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(new Uint8Array(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

export function observeTls(socket: tls.TLSSocket, servername: string, handshakeMs: number): TlsObservation {
  const cipher = socket.getCipher();
  const ephemeral = socket.getEphemeralKeyInfo() as { type?: string; name?: string; size?: number } | null;
  const observation: TlsObservation = {
    protocol: socket.getProtocol(),
    cipher: {
      name: cipher.name,
      ...(cipher.standardName ? { standardName: cipher.standardName } : {}),
    },
    authorized: socket.authorized,
    servername,
    chainDer: peerChainDer(socket),
    handshakeMs: Math.round(handshakeMs * 10) / 10,
  };
  if (ephemeral?.type) {
    observation.ephemeralKey = {
      type: ephemeral.type,
      ...(ephemeral.name ? { name: ephemeral.name } : {}),
      ...(ephemeral.size ? { size: ephemeral.size } : {}),
    };
  }
  if (!socket.authorized && socket.authorizationError) {
    observation.authorizationError = String(socket.authorizationError);
  }
  return observation;
}
