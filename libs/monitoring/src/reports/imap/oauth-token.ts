/**
 * Access tokens for `oauth2` report mailboxes (docs/reports.md "IMAP intake"): the refresh-token
 * grant (RFC 6749 §6) against the tenant's token endpoint, and a per-mailbox cache in memory.
 *
 * The request is one HTTPS POST through libs/net's `fetchHttps`: the host is resolved once and
 * vetted by the SSRF guard (public unicast, or PROBE_ALLOW_CIDRS), the vetted address is dialled,
 * the certificate is checked against the URL's host, redirects are never followed, the answer is
 * capped in size and the whole exchange in time. The client authenticates with `client_id` and
 * `client_secret` in the form body (RFC 6749 §2.3.1), which Microsoft's and Google's token
 * endpoints both take; a public client (RFC 6749 §2.1) sends its id alone.
 *
 * Secrets stay in this module's arguments and the request body: no error detail, log line or
 * result carries the refresh token, the client secret or an access token. A provider's
 * `error_description` is kept only after every secret that was sent, and every token-like run,
 * is cut out of it.
 */
import type { Clock, Resolver } from '@mailwarden/core';
import { type AllowList, type FetchError, fetchHttps } from '@mailwarden/net';
import { type MailboxError, mailboxError } from './imap-errors.ts';

/** DNS, connect, TLS and the answer, all within this. */
export const defaultTokenTimeoutMs = 15_000;
/** A token response is a small JSON object (Microsoft's, with an id_token, a few KiB). */
export const defaultTokenMaxBytes = 64 * 1024;
/** A cached token is used until this long before it expires (at most half of its lifetime). */
export const tokenExpiryMarginSeconds = 300;
/** An `expires_in` beyond a day is not believed for caching. */
const MAX_CACHE_SECONDS = 86_400;
/** More cached mailboxes than this and the expired ones are dropped at the next insert. */
const CACHE_SWEEP_SIZE = 10_000;
/** RFC 6749 §5.2 `error` and RFC 6750 values: a short token of printable ASCII without `"` and `\`. */
const ERROR_CODE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
/** RFC 6749 Appendix A.12/A.17: access and refresh tokens are VSCHAR (printable ASCII). */
const VSCHAR = /^[\x20-\x7e]+$/;
/** Runs that look like a token or a key: cut out of provider texts whatever they are. */
const TOKEN_LIKE = /[A-Za-z0-9._~+/=-]{40,}/g;
const MAX_DESCRIPTION_LENGTH = 200;
const MAX_TOKEN_LENGTH = 16 * 1024;

export interface OAuthRefreshInput {
  tokenUrl: string;
  clientId: string;
  /** Undefined for a public client. */
  clientSecret?: string;
  refreshToken: string;
  /** Space-separated; undefined sends no `scope` (the grant's scope stays, RFC 6749 §6). */
  scope?: string;
}

export interface OAuthFetchOptions {
  resolver: Pick<Resolver, 'query'>;
  allow: AllowList;
  /** Extra trusted CA certificates (TLS_EXTRA_CA_FILE). */
  ca?: readonly string[];
  timeoutMs?: number;
  maxBytes?: number;
}

export type OAuthRefreshResult =
  | {
      ok: true;
      accessToken: string;
      /** The token's lifetime as the provider gave it; undefined when it gave none. */
      expiresInSeconds?: number;
      /** A new refresh token, when the provider rotated it (RFC 6749 §6, last paragraph). */
      refreshToken?: string;
    }
  | { ok: false; error: MailboxError };

/** The URL as a detail names it: scheme, host and path, never a query. */
function endpointName(tokenUrl: string): string {
  try {
    const u = new URL(tokenUrl);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'the token endpoint';
  }
}

/** A provider's text with every secret that was sent, and anything token-like, cut out. */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('[redacted]');
  out = out.replace(TOKEN_LIKE, '[redacted]');
  return out.length > MAX_DESCRIPTION_LENGTH ? `${out.slice(0, MAX_DESCRIPTION_LENGTH)}…` : out;
}

function fetchFailure(endpoint: string, failure: FetchError): MailboxError {
  const detail = `${endpoint}: ${failure.reason}${failure.code ? ` ${failure.code}` : ''}: ${failure.detail}`;
  switch (failure.reason) {
    case 'invalid_url':
    case 'invalid_host':
    case 'ssrf_refused':
      return mailboxError('imap.oauth_endpoint_refused', detail);
    case 'redirect':
      return mailboxError(
        'imap.oauth_refresh_failed',
        `${endpoint}: HTTP ${failure.httpStatus} redirect not followed; set the token endpoint itself`,
      );
    case 'too_large':
      return mailboxError('imap.oauth_refresh_failed', `${endpoint}: the answer is larger than allowed`);
    default:
      return mailboxError('imap.oauth_unreachable', detail);
  }
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `expires_in` as a positive number of seconds; some providers send it as a string. */
function seconds(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

/**
 * One refresh-token grant (RFC 6749 §6). Never throws for what the network or the provider did:
 * `imap.oauth_endpoint_refused` (the SSRF guard said no), `imap.oauth_unreachable` (no answer,
 * 5xx, 429: try later), `imap.oauth_refresh_failed` (an RFC 6749 §5.2 error such as
 * `invalid_grant`, or no usable token: mostly the tenant must authorise again).
 */
export async function refreshAccessToken(
  input: OAuthRefreshInput,
  options: OAuthFetchOptions,
): Promise<OAuthRefreshResult> {
  const endpoint = endpointName(input.tokenUrl);
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: input.refreshToken });
  form.set('client_id', input.clientId);
  if (input.clientSecret !== undefined) form.set('client_secret', input.clientSecret);
  if (input.scope) form.set('scope', input.scope);
  const result = await fetchHttps(input.tokenUrl, {
    resolver: options.resolver,
    allow: options.allow,
    ...(options.ca ? { ca: options.ca } : {}),
    timeoutMs: options.timeoutMs ?? defaultTokenTimeoutMs,
    maxBytes: options.maxBytes ?? defaultTokenMaxBytes,
    method: 'POST',
    // RFC 6749 Appendix B: the form encoding, UTF-8.
    body: form.toString(),
    contentType: 'application/x-www-form-urlencoded',
    accept: 'application/json',
  });
  if (result.status === 'error') return { ok: false, error: fetchFailure(endpoint, result) };

  const status = result.httpStatus;
  const json = parseJson(result.body);
  const secrets = [input.refreshToken, input.clientSecret ?? ''];
  if (status >= 200 && status < 300) {
    const accessToken = json?.access_token;
    const tokenType = json?.token_type;
    if (typeof accessToken !== 'string' || accessToken.length > MAX_TOKEN_LENGTH || !VSCHAR.test(accessToken))
      return {
        ok: false,
        error: mailboxError(
          'imap.oauth_refresh_failed',
          `${endpoint}: HTTP ${status} without an access_token`,
        ),
      };
    // RFC 6749 §7.1 / RFC 6750: only a bearer token goes into OAUTHBEARER or XOAUTH2.
    if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer'))
      return {
        ok: false,
        error: mailboxError(
          'imap.oauth_refresh_failed',
          `${endpoint}: token_type ${typeof tokenType === 'string' && ERROR_CODE.test(tokenType) ? tokenType : '(unusable)'} is not Bearer`,
        ),
      };
    const refreshToken = json?.refresh_token;
    const rotated =
      typeof refreshToken === 'string' &&
      refreshToken !== input.refreshToken &&
      refreshToken.length <= MAX_TOKEN_LENGTH &&
      VSCHAR.test(refreshToken)
        ? refreshToken
        : undefined;
    const expiresIn = seconds(json?.expires_in);
    return {
      ok: true,
      accessToken,
      ...(expiresIn !== undefined ? { expiresInSeconds: expiresIn } : {}),
      ...(rotated ? { refreshToken: rotated } : {}),
    };
  }

  const code = typeof json?.error === 'string' && ERROR_CODE.test(json.error) ? json.error : undefined;
  const description =
    typeof json?.error_description === 'string' ? scrub(json.error_description, secrets) : undefined;
  const said = [`HTTP ${status}`, code, description ? `(${description})` : undefined]
    .filter(Boolean)
    .join(' ');
  // Overloaded or throttled (RFC 6585 §4), or the provider broke: the grant may still be good.
  if (status === 408 || status === 429 || status >= 500)
    return { ok: false, error: mailboxError('imap.oauth_unreachable', `${endpoint}: ${said}`) };
  return {
    ok: false,
    error: mailboxError('imap.oauth_refresh_failed', `${endpoint} refused the refresh: ${said}`),
  };
}

export interface OAuthTokenSourceOptions extends OAuthFetchOptions {
  clock: Clock;
}

export type OAuthAccessResult =
  | {
      ok: true;
      accessToken: string;
      /** From the cache: no request was made. */
      cached: boolean;
      /** The provider rotated the refresh token: the caller stores this one. */
      rotatedRefreshToken?: string;
    }
  | { ok: false; error: MailboxError };

/**
 * Access tokens per mailbox, kept in this process until shortly before they expire. `version`
 * names the mailbox's settings (its `updated_at` and OAuth fields): a changed setting (a new
 * refresh token, client or endpoint) is a new version, and the cached token is not used.
 */
export function createOAuthTokenSource(options: OAuthTokenSourceOptions) {
  const cache = new Map<string, { version: string; accessToken: string; expiresAtMs: number }>();

  function sweep(now: number) {
    if (cache.size < CACHE_SWEEP_SIZE) return;
    for (const [key, entry] of cache) if (entry.expiresAtMs <= now) cache.delete(key);
  }

  return {
    async accessToken(
      mailboxId: string,
      version: string,
      input: OAuthRefreshInput,
      refresh = false,
    ): Promise<OAuthAccessResult> {
      const now = options.clock.now().getTime();
      const held = cache.get(mailboxId);
      if (!refresh && held && held.version === version && held.expiresAtMs > now)
        return { ok: true, accessToken: held.accessToken, cached: true };
      cache.delete(mailboxId);
      const got = await refreshAccessToken(input, options);
      if (!got.ok) return got;
      // Without `expires_in` the lifetime is unknown: the token serves this poll only.
      if (got.expiresInSeconds !== undefined) {
        const lifetime = Math.min(got.expiresInSeconds, MAX_CACHE_SECONDS);
        const margin = Math.min(tokenExpiryMarginSeconds, lifetime / 2);
        sweep(now);
        cache.set(mailboxId, {
          version,
          accessToken: got.accessToken,
          expiresAtMs: now + (lifetime - margin) * 1_000,
        });
      }
      return {
        ok: true,
        accessToken: got.accessToken,
        cached: false,
        ...(got.refreshToken ? { rotatedRefreshToken: got.refreshToken } : {}),
      };
    },

    /** Drops the mailbox's token (the server refused it). */
    forget(mailboxId: string): void {
      cache.delete(mailboxId);
    },
  };
}

export type OAuthTokenSource = ReturnType<typeof createOAuthTokenSource>;
