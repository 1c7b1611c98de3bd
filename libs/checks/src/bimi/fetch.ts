/**
 * The HTTPS fetch the BIMI check needs, injected like the Resolver so the check stays pure. The
 * real implementation is libs/net's `fetchHttps` (SSRF guard, certificate validation, no
 * redirects, body cap); these types are structurally what it returns, so the caller wires it as
 *
 *   fetchResource: (url, { maxBytes }) => fetchHttps(url, { resolver, allow, ca, maxBytes })
 *
 * without libs/checks importing the network library. The check only analyses what comes back.
 */

export type FetchResult =
  | {
      status: 'ok';
      /** Any status: fetchHttps answers `ok` for a 404 too; the check judges it. */
      httpStatus: number;
      contentType?: string | undefined;
      /** At most `maxBytes` long. */
      body: Uint8Array | string;
    }
  | {
      status: 'error';
      /**
       * libs/net's reasons: timeout, dns_unknown, dns_no_address, ssrf_refused, invalid_host,
       * invalid_url, connection_refused, connection_reset, unreachable, network_error, tls_error,
       * redirect, too_large, http_error, aborted.
       */
      reason: string;
      detail?: string;
      /** TLS verify code or errno. */
      code?: string;
      httpStatus?: number;
      /** For `redirect`: where it pointed. */
      location?: string;
    };

export interface FetchOptions {
  /** Stop reading after this many bytes and answer `too_large`. */
  maxBytes: number;
  /** What the fetch is for, for logs and metrics. */
  purpose: 'bimi_logo' | 'bimi_evidence';
}

export type FetchResource = (url: string, options: FetchOptions) => Promise<FetchResult>;

/**
 * Failures that say nothing about the resource itself: the check reports `unknown` and the next
 * run retries. Everything else (refused, TLS, redirect, 4xx, too large...) is a verdict.
 */
export const TRANSIENT_FETCH_REASONS: ReadonlySet<string> = new Set([
  'timeout',
  'dns_unknown',
  'network_error',
  'connection_reset',
  'unreachable',
  'aborted',
]);

/** HTTP statuses that are the server's passing trouble (RFC 9110 §15.6, 429 of RFC 6585 §4). */
export function isTransientHttpStatus(httpStatus: number): boolean {
  return httpStatus >= 500 || httpStatus === 429;
}

export type FetchOutcome =
  | { kind: 'ok'; body: Uint8Array; contentType: string | null; httpStatus: number }
  | { kind: 'failed'; transient: boolean; reason: string; httpStatus: number | null; detail: string | null };

/** Folds non-2xx answers into failures and strings into bytes. */
export function toOutcome(result: FetchResult): FetchOutcome {
  if (result.status === 'error') {
    const transient =
      TRANSIENT_FETCH_REASONS.has(result.reason) ||
      (result.httpStatus !== undefined && isTransientHttpStatus(result.httpStatus));
    return {
      kind: 'failed',
      transient,
      reason: result.reason,
      httpStatus: result.httpStatus ?? null,
      detail: result.detail ?? null,
    };
  }
  if (result.httpStatus < 200 || result.httpStatus >= 300) {
    return {
      kind: 'failed',
      transient: isTransientHttpStatus(result.httpStatus),
      reason: 'http_status',
      httpStatus: result.httpStatus,
      detail: null,
    };
  }
  const body = typeof result.body === 'string' ? new TextEncoder().encode(result.body) : result.body;
  return { kind: 'ok', body, contentType: result.contentType ?? null, httpStatus: result.httpStatus };
}
