/**
 * Stable codes of a failed mailbox poll, recorded on the mailbox (`last_error_code`) and listed in
 * docs/reports.md "IMAP intake". A code names what the tenant must fix; the detail says what the
 * server or the network answered (never a password).
 */
import type { VetRefusal } from '@mailwarden/net';

export const mailboxErrorCodes = [
  /** The host is not public unicast (or not allowed by PROBE_ALLOW_CIDRS), or not a valid name. */
  'imap.host_refused',
  /** DNS did not answer (timeout, SERVFAIL): a failure to know, retried. */
  'imap.dns_failed',
  /** The name has no A/AAAA record (NXDOMAIN or NODATA). */
  'imap.dns_no_address',
  'imap.connect_refused',
  'imap.unreachable',
  /** Connection, greeting, TLS upgrade or socket inactivity timeout. */
  'imap.timeout',
  /** Handshake failed or the certificate did not verify (untrusted, expired, wrong name). */
  'imap.tls_failed',
  /** `starttls` was asked for and the server does not offer STARTTLS (or greeted PREAUTH). */
  'imap.starttls_unavailable',
  /** The server refused the user name and password, or the OAuth access token (`oauth2`). */
  'imap.auth_failed',
  /** The server could not check the password just now (RFC 5530 `UNAVAILABLE`): retried. */
  'imap.server_unavailable',
  /** The folder to read does not exist or cannot be selected. */
  'imap.folder_missing',
  /** The folder stored messages go to could not be created. */
  'imap.move_folder_failed',
  /** `flag` was asked for and the folder does not keep custom keywords (no `\*` in PERMANENTFLAGS). */
  'imap.keywords_unsupported',
  /** A stored message could not be moved or flagged; it is stored again (a duplicate) next time. */
  'imap.ack_failed',
  /** The parse job could not be enqueued; the message stays and is taken again next time. */
  'imap.queue_unavailable',
  /** The server closed or reset the connection in the middle. */
  'imap.connection_lost',
  /** A response line or literal beyond the limits (a message larger than it announced). */
  'imap.response_too_large',
  /** The whole-poll deadline passed before any message was stored. */
  'imap.deadline_exceeded',
  /** A sealed secret does not open (the encryption key it was sealed under is gone). */
  'imap.secret_unreadable',
  /**
   * `oauth2`: the token endpoint refused the refresh (RFC 6749 §5.2: `invalid_grant`, a revoked or
   * expired consent, `invalid_client`, …) or answered no usable token; the detail has the
   * provider's `error` code. Mostly the tenant must authorise again and set a new refresh token.
   */
  'imap.oauth_refresh_failed',
  /** `oauth2`: the token endpoint did not answer (network, TLS, timeout, 5xx, 429): retried. */
  'imap.oauth_unreachable',
  /** `oauth2`: the token endpoint's host is not public unicast (nor in PROBE_ALLOW_CIDRS). */
  'imap.oauth_endpoint_refused',
  /** Anything else the server answered that the poll could not work with. */
  'imap.protocol_error',
] as const;
export type MailboxErrorCode = (typeof mailboxErrorCodes)[number];

export interface MailboxError {
  code: MailboxErrorCode;
  detail: string;
}

/** The longest detail kept: server texts are untrusted and can be long. */
const MAX_DETAIL_LENGTH = 500;

export function mailboxError(code: MailboxErrorCode, detail: string): MailboxError {
  // Control characters from a server's text never reach logs or the API verbatim.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const clean = detail.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return { code, detail: clean.slice(0, MAX_DETAIL_LENGTH) };
}

export function vetRefusalError(refusal: VetRefusal): MailboxError {
  switch (refusal.reason) {
    case 'invalid_host':
    case 'ssrf_refused':
      return mailboxError('imap.host_refused', `${refusal.host}: ${refusal.detail}`);
    case 'dns_unknown':
      return mailboxError('imap.dns_failed', `${refusal.host}: ${refusal.detail}`);
    case 'dns_no_address':
      return mailboxError('imap.dns_no_address', `${refusal.host}: ${refusal.detail}`);
  }
}

/** Node's and OpenSSL's codes of a failed TLS handshake or certificate verification. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|EPROTO$)/;

export type PollPhase = 'connect' | 'open' | 'prepare' | 'fetch' | 'ack';

interface ImapLikeError {
  code?: string;
  message?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  responseStatus?: string;
  responseText?: string;
  serverResponseCode?: string;
  /** imapflow: the JSON a server sent with a refused OAUTHBEARER/XOAUTH2 (RFC 7628 §3.2.2). */
  oauthError?: { status?: unknown } | false;
}

/** RFC 7628 §3.2.2 / RFC 6749 §5.2 status and error values: a short token of printable ASCII. */
const OAUTH_STATUS = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/** Maps what imapflow or the socket threw in `phase` to a stable code. */
export function classifyImapError(err: unknown, phase: PollPhase): MailboxError {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as ImapLikeError;
  const code = typeof e.code === 'string' ? e.code : '';
  const server = [e.serverResponseCode ? `[${e.serverResponseCode}]` : '', e.responseText ?? '']
    .filter(Boolean)
    .join(' ');
  const detail = [code, server || e.message || 'unknown error'].filter(Boolean).join(': ');
  if (e.authenticationFailed) {
    if (e.serverResponseCode === 'UNAVAILABLE') return mailboxError('imap.server_unavailable', server);
    // The status a server gives a refused bearer (`invalid_token`, `insufficient_scope`); never the token.
    const status = e.oauthError ? e.oauthError.status : undefined;
    const oauth = typeof status === 'string' && OAUTH_STATUS.test(status) ? ` (OAuth status ${status})` : '';
    return mailboxError('imap.auth_failed', `${server || 'authentication failed'}${oauth}`);
  }
  // imapflow, given an access token by a server that offers neither OAUTHBEARER nor XOAUTH2.
  if (/^Unsupported authentication mechanism/.test(e.message ?? '') && code === '')
    return mailboxError(
      'imap.auth_failed',
      'the server offers no OAuth login (AUTH=OAUTHBEARER or AUTH=XOAUTH2)',
    );
  if (code !== 'STARTTLS_INJECTION' && /STARTTLS/i.test(e.message ?? '') && (e.tlsFailed || code === ''))
    return mailboxError('imap.starttls_unavailable', e.message ?? 'STARTTLS is not offered');
  if (TLS_CODE.test(code) || (e.tlsFailed && code !== 'UPGRADE_TIMEOUT'))
    return mailboxError('imap.tls_failed', detail);
  switch (code) {
    case 'ECONNREFUSED':
      return mailboxError('imap.connect_refused', detail);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return mailboxError('imap.unreachable', detail);
    case 'ETIMEDOUT':
    case 'CONNECT_TIMEOUT':
    case 'GREETING_TIMEOUT':
    case 'UPGRADE_TIMEOUT':
    case 'ETIMEOUT':
      return mailboxError('imap.timeout', detail);
    case 'LiteralTooLarge':
    case 'ResponseTooLarge':
    case 'LineTooLarge':
    case 'TooManyTokens':
      return mailboxError('imap.response_too_large', detail);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'NoConnection':
    case 'EConnectionClosed':
    case 'ClosedAfterConnectText':
    case 'ClosedAfterConnectTLS':
      return mailboxError('imap.connection_lost', detail);
  }
  if (e.responseStatus === 'NO' || e.responseStatus === 'BAD') {
    if (phase === 'open') return mailboxError('imap.folder_missing', detail);
    if (phase === 'prepare') return mailboxError('imap.move_folder_failed', detail);
    if (phase === 'ack') return mailboxError('imap.ack_failed', detail);
  }
  return mailboxError('imap.protocol_error', detail);
}
