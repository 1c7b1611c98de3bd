/**
 * `deliverWebhook`: one POST of one message to one endpoint, through the SSRF guard in libs/net.
 *
 * - The host is resolved once and every address vetted (public unicast, or opened by
 *   PROBE_ALLOW_CIDRS); the socket dials the vetted address and the request is written over it,
 *   so node:http never resolves or dials anything itself (same design as `fetchHttps`).
 * - Scheme policy as in webhook-url.ts: https, or http only to allow-listed addresses / with
 *   `allowHttp`. For http the decision is taken before anything is dialled.
 * - One deadline (default 15 s) covers DNS, connect, TLS, writing the request and the response
 *   headers. Redirects are never followed: a 3xx is a failed attempt (a receiver that moved must
 *   be re-registered; following it would also bypass the save-time URL check).
 * - The response body is read up to `maxResponseBytes` (64 KiB) and the rest is discarded by
 *   closing the connection; only an excerpt is kept for the attempt log.
 * - Never throws for network problems: every outcome is an attempt record.
 *
 * Outcome: 2xx `success`; 410 Gone `disable` (the receiver says it is gone for good); anything
 * else — other statuses, redirects, timeouts, refusals — `retry` (see retry-schedule.ts).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { DnsResult, RecordType, Resolver } from '@mailwarden/core';
import { type AllowList, type ConnectFailureReason, connectGuarded, resolveAndVet } from '@mailwarden/net';
import { httpPermitted, parseWebhookUrl } from './webhook-url.ts';

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;
/** What of the response body is kept in the attempt log. */
export const DEFAULT_RESPONSE_EXCERPT_CHARS = 1_024;
export const WEBHOOK_USER_AGENT = 'Mailwarden-Webhooks/1.0 (+https://github.com/mailwarden)';
/** Response header block cap (Node's default is 16 KiB). */
const MAX_RESPONSE_HEADER_BYTES = 16 * 1024;
/** Headers the sender owns: a caller cannot override framing or the target. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'expect']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export type WebhookAttemptError =
  | Exclude<ConnectFailureReason, 'aborted'>
  | 'aborted'
  | 'invalid_url'
  | 'invalid_request'
  | 'insecure_scheme'
  | 'redirect'
  | 'http_status'
  | 'gone'
  | 'http_error';

export type WebhookAttemptOutcome = 'success' | 'retry' | 'disable';

/** One attempt, as logged in `webhook_attempts`. */
export interface WebhookAttempt {
  attemptedAt: Date;
  outcome: WebhookAttemptOutcome;
  /** The HTTP status, or null when no response arrived. */
  statusCode: number | null;
  /** From the start of the attempt to the response headers (or to the failure). */
  latencyMs: number;
  /** Stable code, null on success. */
  error: WebhookAttemptError | null;
  /** For operators' logs: what went wrong. Never contains the URL's path or query. */
  detail: string | null;
  /** The start of the response body (UTF-8, control characters replaced), or null when empty. */
  responseExcerpt: string | null;
  /** The vetted address that was dialled. */
  address: string | null;
}

export interface DeliverWebhookOptions {
  url: string;
  /** The exact bytes that were signed. */
  body: string | Uint8Array;
  /** `webhook-id`, `webhook-timestamp`, `webhook-signature`, and any other caller headers. */
  headers: Record<string, string>;
  resolver: Pick<Resolver, 'query'>;
  /** PROBE_ALLOW_CIDRS. */
  allow: AllowList;
  /** Extra trusted CA certificates in PEM (TLS_EXTRA_CA_FILE). */
  ca?: readonly string[];
  allowHttp?: boolean;
  timeoutMs?: number;
  maxResponseBytes?: number;
  excerptChars?: number;
  userAgent?: string;
  signal?: AbortSignal;
  /** For `attemptedAt`; latency is measured with a monotonic clock regardless. */
  now?: () => Date;
}

/**
 * A resolver that answers each (name, type) at most once per delivery, so the http scheme
 * decision and the connection are based on the same DNS answers.
 */
function onceResolver(resolver: Pick<Resolver, 'query'>): Pick<Resolver, 'query'> {
  const seen = new Map<string, Promise<DnsResult<RecordType>>>();
  return {
    query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
      const key = `${name.toLowerCase()}|${type}`;
      let answer = seen.get(key);
      if (!answer) {
        answer = resolver.query(name, type);
        seen.set(key, answer);
      }
      return answer as Promise<DnsResult<T>>;
    },
  };
}

/** Keeps the start of a body for the log: valid UTF-8, no control characters, bounded. */
export function responseExcerpt(body: Buffer, maxChars: number): string | null {
  if (body.length === 0 || maxChars <= 0) return null;
  // Each character is at most 4 bytes; decoding only a prefix keeps a huge body cheap.
  const decoded = body.subarray(0, maxChars * 4).toString('utf8');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point.
  const clean = Array.from(decoded.replace(/[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/g, '?'))
    .slice(0, maxChars)
    .join('');
  return clean.trim() === '' ? null : clean;
}

/** Where a redirect pointed, as scheme and host only (paths may carry the receiver's tokens). */
function redirectTarget(base: URL, location: string | undefined): string {
  if (!location) return '';
  try {
    const to = new URL(location, base);
    return ` (to ${to.protocol}//${to.host})`;
  } catch {
    return '';
  }
}

function classify(statusCode: number): { outcome: WebhookAttemptOutcome; error: WebhookAttemptError | null } {
  if (statusCode >= 200 && statusCode < 300) return { outcome: 'success', error: null };
  if (statusCode === 410) return { outcome: 'disable', error: 'gone' };
  if (statusCode >= 300 && statusCode < 400) return { outcome: 'retry', error: 'redirect' };
  return { outcome: 'retry', error: 'http_status' };
}

function checkHeaders(headers: Record<string, string>): string | undefined {
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) return `bad header name ${JSON.stringify(name.slice(0, 40))}`;
    if (RESERVED_HEADERS.has(name.toLowerCase())) return `header ${name} is set by the sender`;
    if (!HEADER_VALUE.test(value)) return `bad characters in header ${name}`;
  }
  return undefined;
}

export async function deliverWebhook(options: DeliverWebhookOptions): Promise<WebhookAttempt> {
  const attemptedAt = (options.now ?? (() => new Date()))();
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const elapsed = () => Math.round(performance.now() - started);
  const fail = (
    error: WebhookAttemptError,
    detail: string,
    extra: Partial<WebhookAttempt> = {},
  ): WebhookAttempt => ({
    attemptedAt,
    outcome: 'retry',
    statusCode: null,
    latencyMs: elapsed(),
    error,
    detail,
    responseExcerpt: null,
    address: null,
    ...extra,
  });

  const parsed = parseWebhookUrl(options.url);
  if (!parsed.ok) return fail('invalid_url', parsed.detail);
  const { url, scheme, host, port } = parsed.parsed;
  const headerProblem = checkHeaders(options.headers);
  if (headerProblem) return fail('invalid_request', headerProblem);

  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  const abortError = (): WebhookAttemptError => (deadline.signal.aborted ? 'timeout' : 'aborted');
  const resolver = onceResolver(options.resolver);
  const policy = { resolver, allow: options.allow, allowHttp: options.allowHttp === true };
  try {
    if (scheme === 'http') {
      // Decide before dialling: an http target on the public internet is never contacted.
      const vet = await resolveAndVet(host, policy);
      if (vet.ok && !httpPermitted(vet.addresses, policy)) {
        return fail('insecure_scheme', 'http: is only allowed to PROBE_ALLOW_CIDRS addresses');
      }
    }
    const conn = await connectGuarded({
      host,
      port,
      resolver,
      allow: options.allow,
      ...(scheme === 'https' ? { tls: { ...(options.ca ? { ca: options.ca } : {}) } } : {}),
      timeoutMs,
      signal,
    });
    if (!conn.ok) {
      const error: WebhookAttemptError = conn.reason === 'aborted' ? abortError() : conn.reason;
      const detail = conn.code ? `${conn.detail} (${conn.code})` : conn.detail;
      return fail(error, detail);
    }
    if (scheme === 'http' && !httpPermitted([conn.address], policy)) {
      conn.socket.destroy();
      return fail('insecure_scheme', 'http: is only allowed to PROBE_ALLOW_CIDRS addresses');
    }
    return await post(url, conn.socket, conn.address.address, options, signal, abortError, fail, {
      attemptedAt,
      elapsed,
    });
  } catch (err) {
    // Only a bug gets here; the contract is still "never throws for network problems".
    return fail('http_error', `unexpected: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

function post(
  url: URL,
  socket: Socket,
  address: string,
  options: DeliverWebhookOptions,
  signal: AbortSignal,
  abortError: () => WebhookAttemptError,
  fail: (error: WebhookAttemptError, detail: string, extra?: Partial<WebhookAttempt>) => WebhookAttempt,
  timing: { attemptedAt: Date; elapsed: () => number },
): Promise<WebhookAttempt> {
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const excerptChars = options.excerptChars ?? DEFAULT_RESPONSE_EXCERPT_CHARS;
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  return new Promise<WebhookAttempt>((resolve) => {
    let settled = false;
    let response: { statusCode: number; latencyMs: number; location: string | undefined } | undefined;
    const chunks: Buffer[] = [];
    let size = 0;

    const finish = (attempt: WebhookAttempt) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      // Closing the connection is how the rest of an oversized or endless body is discarded.
      socket.destroy();
      resolve(attempt);
    };
    /** Once the status is known it decides; the body only adds an excerpt. */
    const finishWithResponse = (bodyNote?: string) => {
      if (!response) return;
      const { outcome, error } = classify(response.statusCode);
      const notes = [
        error === 'redirect'
          ? `HTTP ${response.statusCode} redirect not followed${redirectTarget(url, response.location)}`
          : undefined,
        error === 'http_status' || error === 'gone' ? `HTTP ${response.statusCode}` : undefined,
        bodyNote,
      ].filter((n): n is string => n !== undefined);
      finish({
        attemptedAt: timing.attemptedAt,
        outcome,
        statusCode: response.statusCode,
        latencyMs: response.latencyMs,
        error,
        detail: notes.length > 0 ? notes.join('; ') : null,
        responseExcerpt: responseExcerpt(Buffer.concat(chunks), excerptChars),
        address,
      });
    };
    const onAbort = () => {
      if (response) finishWithResponse(`body not complete: ${abortError()}`);
      else finish(fail(abortError(), 'deadline reached before the response headers', { address }));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });

    const req = http.request({
      createConnection: () => socket,
      method: 'POST',
      path: `${url.pathname}${url.search}`,
      setHost: false,
      maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
      headers: {
        'content-type': 'application/json',
        'user-agent': options.userAgent ?? WEBHOOK_USER_AGENT,
        ...options.headers,
        host: url.host,
        'content-length': String(body.length),
        // Caps apply to what is on the wire; no decompression bombs.
        'accept-encoding': 'identity',
        connection: 'close',
      },
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (response) return finishWithResponse(`body not complete: ${err.code ?? err.message}`);
      const code = err.code ?? 'EUNKNOWN';
      const error: WebhookAttemptError =
        code === 'ECONNRESET' || code === 'EPIPE' ? 'connection_reset' : 'http_error';
      finish(fail(error, `${err.message} (${code})`, { address }));
    });
    req.on('response', (res) => {
      response = {
        statusCode: res.statusCode ?? 0,
        latencyMs: timing.elapsed(),
        location: typeof res.headers.location === 'string' ? res.headers.location : undefined,
      };
      res.on('data', (chunk: Buffer) => {
        const room = maxBytes - size;
        if (room > 0) chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        size += chunk.length;
        if (size > maxBytes) finishWithResponse(`body over ${maxBytes} bytes discarded`);
      });
      res.on('end', () => finishWithResponse());
      res.on('aborted', () => finishWithResponse('body ended early'));
      res.on('error', () => finishWithResponse('body ended early'));
    });
    req.end(body);
  });
}
