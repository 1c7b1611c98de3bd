/**
 * `connectGuarded`: the one way the product opens an outbound TCP (and TLS) connection.
 *
 * 1. `resolveAndVet` resolves the host once through the injected resolver and vets every address
 *    (public unicast only, unless PROBE_ALLOW_CIDRS opens a range).
 * 2. The socket dials the vetted IP literal itself. Node does no name resolution for an IP
 *    literal; the `lookup` hook is pinned to the vetted address as a second lock and fails for
 *    any other name. There is no second DNS lookup, so DNS rebinding cannot change the target.
 * 3. For TLS, SNI and certificate name checking use the original host name, while the TCP
 *    connection goes to the vetted address.
 *
 * Network problems come back as a typed failure, never as a thrown error.
 */
import net from 'node:net';
import tls from 'node:tls';
import { type TlsSessionInfo, tlsSessionInfo, trustContext } from './tls-info.ts';
import {
  type RefusedAddress,
  resolveAndVet,
  type VetOptions,
  type VetRefusal,
  type VettedAddress,
} from './vet.ts';

export type { PeerCertificateInfo, TlsSessionInfo } from './tls-info.ts';

export const DEFAULT_CONNECT_TOTAL_TIMEOUT_MS = 15_000;
export const DEFAULT_CONNECT_ATTEMPT_TIMEOUT_MS = 5_000;

export interface GuardedTlsOptions {
  /** Extra trusted CA certificates (PEM, e.g. TLS_EXTRA_CA_FILE), added to Node's bundled roots. */
  ca?: readonly string[];
  /** SNI and the name the certificate must match. Defaults to the host that was asked for. */
  servername?: string;
  /** Hand back the socket even when the certificate does not verify (a prober inspects it). */
  allowUnauthorized?: boolean;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  ALPNProtocols?: string[];
}

export interface ConnectGuardedOptions extends VetOptions {
  host: string;
  port: number;
  tls?: GuardedTlsOptions;
  /** Budget for everything: DNS, every TCP attempt, the TLS handshake. */
  timeoutMs?: number;
  /** Budget for one TCP attempt to one address. */
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
}

export type ConnectFailureReason =
  | VetRefusal['reason']
  | 'timeout'
  | 'connection_refused'
  | 'connection_reset'
  | 'unreachable'
  | 'tls_error'
  | 'network_error'
  | 'aborted';

export interface ConnectAttempt {
  address: string;
  reason: ConnectFailureReason;
  code?: string;
}

/**
 * On success the caller owns the socket: attach an 'error' listener before awaiting anything else
 * (no listener is left behind, so errors are not swallowed), and destroy it when done.
 */
export type ConnectGuardedResult =
  | {
      ok: true;
      socket: net.Socket | tls.TLSSocket;
      host: string;
      port: number;
      address: VettedAddress;
      tls?: TlsSessionInfo;
    }
  | {
      ok: false;
      reason: ConnectFailureReason;
      host: string;
      detail: string;
      code?: string;
      refused?: RefusedAddress[];
      attempts: ConnectAttempt[];
      tls?: TlsSessionInfo;
    };

type Step<T> =
  | { ok: true; value: T }
  | { ok: false; reason: ConnectFailureReason; code?: string; detail: string };

function mapSocketError(err: NodeJS.ErrnoException): { reason: ConnectFailureReason; code: string } {
  const code = err.code ?? 'EUNKNOWN';
  switch (code) {
    case 'ECONNREFUSED':
      return { reason: 'connection_refused', code };
    case 'ECONNRESET':
    case 'EPIPE':
      return { reason: 'connection_reset', code };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return { reason: 'unreachable', code };
    case 'ETIMEDOUT':
      return { reason: 'timeout', code };
    default:
      return { reason: 'network_error', code };
  }
}

/** Waits for `ready` on `socket`, or fails on error, timeout or abort (destroying the socket). */
function settle<T>(
  socket: net.Socket,
  ready: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  onReady: () => T,
  onError: (err: NodeJS.ErrnoException) => Step<T>,
): Promise<Step<T>> {
  return new Promise((resolve) => {
    const finish = (step: Step<T>) => {
      clearTimeout(timer);
      socket.off(ready, readyListener);
      socket.off('error', errorListener);
      signal?.removeEventListener('abort', abortListener);
      if (!step.ok) socket.destroy();
      resolve(step);
    };
    const readyListener = () => finish({ ok: true, value: onReady() });
    const errorListener = (err: NodeJS.ErrnoException) => finish(onError(err));
    const abortListener = () => finish({ ok: false, reason: 'aborted', detail: 'aborted by caller' });
    const timer = setTimeout(
      () => finish({ ok: false, reason: 'timeout', detail: `no ${ready} within ${timeoutMs} ms` }),
      Math.max(0, timeoutMs),
    );
    socket.once(ready, readyListener);
    socket.once('error', errorListener);
    if (signal?.aborted) abortListener();
    else signal?.addEventListener('abort', abortListener, { once: true });
  });
}

/** A lookup hook that can only ever answer with the vetted address. */
function pinnedLookup(vetted: VettedAddress): net.LookupFunction {
  return (hostname, options, callback) => {
    if (hostname !== vetted.address) {
      const err: NodeJS.ErrnoException = new Error(
        `SSRF guard: refusing to resolve unvetted name ${hostname}`,
      );
      err.code = 'ESSRFLOOKUP';
      callback(err, '', 0);
      return;
    }
    if (options.all) callback(null, [{ address: vetted.address, family: vetted.family }]);
    else callback(null, vetted.address, vetted.family);
  };
}

function dialTcp(
  vetted: VettedAddress,
  port: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Step<net.Socket>> {
  const socket = net.connect({
    host: vetted.address,
    port,
    family: vetted.family,
    lookup: pinnedLookup(vetted),
  });
  return settle(
    socket,
    'connect',
    timeoutMs,
    signal,
    () => socket,
    (err) => ({ ok: false, ...mapSocketError(err), detail: err.message }),
  );
}

async function handshake(
  socket: net.Socket,
  host: string,
  options: GuardedTlsOptions,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Step<tls.TLSSocket>> {
  const name = options.servername ?? host;
  const secure = tls.connect({
    socket,
    // `host` is what checkServerIdentity verifies when there is no servername (IP literals).
    host: name,
    // RFC 6066 §3: SNI carries host names only, never IP literals.
    ...(net.isIP(name) ? {} : { servername: name }),
    ...(options.ca && options.ca.length > 0 ? { secureContext: trustContext(options.ca) } : {}),
    // Verification is judged below, so a failure can still report the certificate it saw.
    rejectUnauthorized: false,
    ...(options.minVersion ? { minVersion: options.minVersion } : {}),
    ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
    ...(options.ALPNProtocols ? { ALPNProtocols: options.ALPNProtocols } : {}),
  });
  const step = await settle(
    secure,
    'secureConnect',
    timeoutMs,
    signal,
    () => secure,
    (err) => ({ ok: false, reason: 'tls_error', code: err.code ?? 'ERR_TLS_HANDSHAKE', detail: err.message }),
  );
  if (!step.ok) socket.destroy();
  return step;
}

function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

/** Resolves `promise`, or `undefined` once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export async function connectGuarded(options: ConnectGuardedOptions): Promise<ConnectGuardedResult> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_CONNECT_TOTAL_TIMEOUT_MS);
  const attemptMs = options.attemptTimeoutMs ?? DEFAULT_CONNECT_ATTEMPT_TIMEOUT_MS;
  const attempts: ConnectAttempt[] = [];
  const fail = (
    reason: ConnectFailureReason,
    detail: string,
    extra: { code?: string; refused?: RefusedAddress[]; tls?: TlsSessionInfo; host?: string } = {},
  ): ConnectGuardedResult => ({
    ok: false,
    reason,
    host: extra.host ?? options.host,
    detail,
    attempts,
    ...extra,
  });

  const vet = await within(resolveAndVet(options.host, options), remaining(deadline));
  if (!vet) return fail('timeout', 'DNS resolution did not finish in time');
  if (!vet.ok)
    return fail(vet.reason, vet.detail, vet.reason === 'ssrf_refused' ? { refused: vet.refused } : {});

  for (const address of vet.addresses) {
    if (options.signal?.aborted) return fail('aborted', 'aborted by caller', { host: vet.host });
    const left = remaining(deadline);
    if (left === 0) break;
    const tcp = await dialTcp(address, options.port, Math.min(attemptMs, left), options.signal);
    if (!tcp.ok) {
      attempts.push({
        address: address.address,
        reason: tcp.reason,
        ...(tcp.code ? { code: tcp.code } : {}),
      });
      if (tcp.reason === 'aborted') return fail('aborted', tcp.detail, { host: vet.host });
      continue;
    }
    if (!options.tls) return { ok: true, socket: tcp.value, host: vet.host, port: options.port, address };

    const hs = await handshake(tcp.value, vet.host, options.tls, remaining(deadline), options.signal);
    if (!hs.ok) {
      attempts.push({ address: address.address, reason: hs.reason, ...(hs.code ? { code: hs.code } : {}) });
      return fail(hs.reason, hs.detail, { host: vet.host, ...(hs.code ? { code: hs.code } : {}) });
    }
    const info = tlsSessionInfo(hs.value);
    if (!info.authorized && !options.tls.allowUnauthorized) {
      hs.value.destroy();
      const code = info.authorizationError ?? 'UNABLE_TO_VERIFY';
      attempts.push({ address: address.address, reason: 'tls_error', code });
      return fail('tls_error', `certificate not accepted: ${code}`, { host: vet.host, code, tls: info });
    }
    return { ok: true, socket: hs.value, host: vet.host, port: options.port, address, tls: info };
  }
  const last = attempts.at(-1);
  if (!last) return fail('timeout', 'no time left to dial', { host: vet.host });
  return fail(
    last.reason,
    `every address failed: ${attempts.map((a) => `${a.address} ${a.reason}`).join(', ')}`,
    {
      host: vet.host,
      ...(last.code ? { code: last.code } : {}),
    },
  );
}
