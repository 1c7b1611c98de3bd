/**
 * `fetchHttps`: one HTTPS GET (or a POST of a small body) through the SSRF guard, for MTA-STS
 * policies (RFC 8461 §3.3), BIMI assets, and OAuth 2.0 token requests of the IMAP intake
 * (RFC 6749 §6).
 *
 * - The connection comes from `connectGuarded`: vetted address, no second lookup, SNI and
 *   certificate name = the URL's host, Node's bundled roots plus extra CA PEMs.
 * - The request is written over that socket (`createConnection`), so node:http never resolves or
 *   dials anything itself.
 * - Redirects are never followed (RFC 8461 §3.3): a 3xx is returned as `reason: 'redirect'`.
 * - The body is capped while it streams; one deadline covers DNS, connect, TLS, headers and body.
 * - Network problems are results, never thrown.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { AllowList } from '../ssrf/cidr.ts';
import { type ConnectFailureReason, connectGuarded, type TlsSessionInfo } from '../ssrf/connect.ts';
import type { RefusedAddress, VetOptions } from '../ssrf/vet.ts';

export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;
export const DEFAULT_FETCH_MAX_BYTES = 1024 * 1024;
export const DEFAULT_USER_AGENT = 'Mailwarden (+https://github.com/mailwarden)';
/** Response header block cap; Node's default is 16 KiB. */
export const MAX_RESPONSE_HEADER_BYTES = 16 * 1024;
const HTTPS_DEFAULT_PORT = 443;

export interface FetchHttpsOptions {
  resolver: VetOptions['resolver'];
  allow: AllowList;
  /** Extra trusted CA certificates in PEM (TLS_EXTRA_CA_FILE); Node's bundled roots always apply. */
  ca?: readonly string[];
  timeoutMs?: number;
  maxBytes?: number;
  userAgent?: string;
  accept?: string;
  signal?: AbortSignal;
  /** Default GET. A POST sends `body` with `contentType` and a Content-Length. */
  method?: 'GET' | 'POST';
  body?: string | Buffer;
  /** The Content-Type of `body`. */
  contentType?: string;
}

export type FetchErrorReason =
  | Exclude<ConnectFailureReason, 'aborted'>
  | 'invalid_url'
  | 'redirect'
  | 'too_large'
  | 'http_error'
  | 'aborted';

export interface FetchOk {
  status: 'ok';
  url: string;
  httpStatus: number;
  /** The Content-Type header as sent, or undefined. */
  contentType: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The vetted address that was dialled. */
  address: string;
  tls: TlsSessionInfo | undefined;
}

export interface FetchError {
  status: 'error';
  url: string;
  reason: FetchErrorReason;
  detail: string;
  /** TLS verify code (`CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, …) or socket errno. */
  code?: string;
  httpStatus?: number;
  /** For `redirect`: the Location header, reported, not followed. */
  location?: string;
  refused?: RefusedAddress[];
  address?: string;
  tls?: TlsSessionInfo;
}

export type FetchResult = FetchOk | FetchError;

function parseUrl(
  url: string,
): { ok: true; u: URL; host: string; port: number } | { ok: false; detail: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, detail: 'not a URL' };
  }
  if (u.protocol !== 'https:') return { ok: false, detail: `scheme ${u.protocol} is not https:` };
  if (u.username !== '' || u.password !== '')
    return { ok: false, detail: 'credentials in the URL are refused' };
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { ok: true, u, host, port: u.port === '' ? HTTPS_DEFAULT_PORT : Number(u.port) };
}

export async function fetchHttps(url: string, options: FetchHttpsOptions): Promise<FetchResult> {
  const parsed = parseUrl(url);
  if (!parsed.ok) return { status: 'error', url, reason: 'invalid_url', detail: parsed.detail };
  const { u, host, port } = parsed;
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_FETCH_MAX_BYTES;

  // One deadline for everything; the caller's signal can cut it short.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  const abortReason = (): FetchErrorReason => (deadline.signal.aborted ? 'timeout' : 'aborted');
  try {
    const conn = await connectGuarded({
      host,
      port,
      resolver: options.resolver,
      allow: options.allow,
      tls: { ...(options.ca ? { ca: options.ca } : {}) },
      timeoutMs,
      signal,
    });
    if (!conn.ok) {
      const reason: FetchErrorReason = conn.reason === 'aborted' ? abortReason() : conn.reason;
      return {
        status: 'error',
        url,
        reason,
        detail: conn.detail,
        ...(conn.code ? { code: conn.code } : {}),
        ...(conn.refused ? { refused: conn.refused } : {}),
        ...(conn.tls ? { tls: conn.tls } : {}),
      };
    }
    return await request(
      u,
      conn.socket,
      conn.address.address,
      conn.tls,
      options,
      maxBytes,
      signal,
      abortReason,
    );
  } catch (err) {
    // Only a bug gets here; the contract is still "never throws for network problems".
    return { status: 'error', url, reason: 'http_error', detail: `unexpected: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

function request(
  u: URL,
  socket: Socket,
  address: string,
  tls: TlsSessionInfo | undefined,
  options: FetchHttpsOptions,
  maxBytes: number,
  signal: AbortSignal,
  abortReason: () => FetchErrorReason,
): Promise<FetchResult> {
  const url = u.toString();
  const base = { url, address, tls };
  return new Promise<FetchResult>((resolve) => {
    let settled = false;
    const finish = (result: FetchResult) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const fail = (reason: FetchErrorReason, detail: string, extra: Partial<FetchError> = {}) =>
      finish({ status: 'error', reason, detail, ...base, ...extra });
    const onAbort = () => fail(abortReason(), 'deadline reached before the response was complete');
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });

    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const req = http.request({
      createConnection: () => socket,
      method: options.method ?? 'GET',
      path: `${u.pathname}${u.search}`,
      setHost: false,
      maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
      headers: {
        host: u.host,
        'user-agent': options.userAgent ?? DEFAULT_USER_AGENT,
        accept: options.accept ?? '*/*',
        // Caps apply to what is on the wire; no decompression bombs.
        'accept-encoding': 'identity',
        connection: 'close',
        ...(body !== undefined
          ? {
              'content-length': String(body.length),
              ...(options.contentType ? { 'content-type': options.contentType } : {}),
            }
          : {}),
      },
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'EUNKNOWN';
      const reason: FetchErrorReason =
        code === 'ECONNRESET' || code === 'EPIPE' ? 'connection_reset' : 'http_error';
      fail(reason, err.message, { code });
    });
    req.on('response', (res) => {
      const httpStatus = res.statusCode ?? 0;
      if (httpStatus >= 300 && httpStatus < 400) {
        const location = res.headers.location;
        return fail('redirect', `HTTP ${httpStatus} redirect not followed`, {
          httpStatus,
          ...(location ? { location } : {}),
        });
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        return fail('too_large', `Content-Length ${declared} exceeds ${maxBytes} bytes`, { httpStatus });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return fail('too_large', `body exceeds ${maxBytes} bytes`, { httpStatus });
        chunks.push(chunk);
      });
      res.on('error', (err: NodeJS.ErrnoException) =>
        fail('connection_reset', err.message, { httpStatus, ...(err.code ? { code: err.code } : {}) }),
      );
      res.on('aborted', () => fail('connection_reset', 'response aborted mid-body', { httpStatus }));
      res.on('end', () => {
        if (!res.complete) return fail('connection_reset', 'response ended early', { httpStatus });
        const contentType = res.headers['content-type'];
        finish({
          status: 'ok',
          url,
          httpStatus,
          contentType,
          headers: res.headers,
          body: Buffer.concat(chunks),
          address,
          tls,
        });
      });
    });
    req.end(body);
  });
}
