/**
 * The one catalogue of error codes. REST turns an `AppError` into RFC 9457 problem+json carrying
 * `code`; GraphQL puts the same `code` in `extensions`. Codes are stable API: add new ones, never
 * rename or reuse one. Titles are for people; `detail` on each error quotes what the caller sent.
 */
export const errorCatalogue = {
  bad_request: { status: 400, title: 'The request is malformed' },
  validation_failed: { status: 400, title: 'The request did not pass validation' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'The caller may not do this' },
  not_found: { status: 404, title: 'The resource does not exist' },
  route_not_found: { status: 404, title: 'No route matches this method and path' },
  method_not_allowed: { status: 405, title: 'The method is not allowed on this resource' },
  not_acceptable: { status: 406, title: 'No acceptable representation' },
  request_timeout: { status: 408, title: 'The request took too long to arrive' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
  query_too_complex: { status: 400, title: 'The GraphQL query is too deep or too costly' },
  rate_limited: { status: 429, title: 'Too many requests' },
  invalid_credentials: { status: 401, title: 'The e-mail address or the password is not right' },
  invalid_token: { status: 401, title: 'The token is malformed, forged or not meant for this use' },
  token_expired: { status: 401, title: 'The token has expired' },
  session_revoked: { status: 401, title: 'The session has ended; sign in again' },
  refresh_token_reused: {
    status: 401,
    title: 'A refresh token was used twice; the session was ended to protect the account',
  },
  totp_invalid: { status: 400, title: 'The one-time code is not right or not current' },
  totp_replayed: { status: 400, title: 'The one-time code was already used; wait for the next one' },
  recovery_code_invalid: { status: 400, title: 'The recovery code is not right or was already used' },
  password_policy: { status: 400, title: 'The password does not meet the password policy' },
  password_change_required: { status: 403, title: 'The password has expired and must be changed first' },
  mfa_enrolment_required: {
    status: 403,
    title: 'This tenant requires two-factor authentication; enrol first',
  },
  email_taken: { status: 409, title: 'An account with this e-mail address already exists' },
  last_owner: { status: 409, title: 'A tenant must keep at least one owner' },
  domain_invalid: { status: 400, title: 'The name is not a domain that can be monitored' },
  domain_taken: { status: 409, title: 'This tenant already monitors this domain' },
  quota_exceeded: { status: 403, title: 'The tenant has reached one of its quotas' },
  verification_failed: {
    status: 409,
    title: 'The verification TXT record was not found (or DNS did not answer)',
  },
  webhook_target_refused: {
    status: 400,
    title: 'The webhook target is not allowed (not https, not public, or not reachable safely)',
  },
  mailbox_host_refused: {
    status: 400,
    title: 'The mailbox host is not allowed (not public, or its name does not resolve)',
  },
  internal: { status: 500, title: 'Internal Server Error' },
  service_unavailable: { status: 503, title: 'The service is temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** A problem with one field of the input, in the shape of RFC 9457 extension members. */
export interface FieldProblem {
  /** Where the bad value was: `body.name`, `query.limit`, `params.id`, `header.authorization`. */
  location: string;
  message: string;
}

export interface AppErrorOptions {
  detail?: string;
  errors?: FieldProblem[];
  /** Extra members returned to the caller (e.g. `retryAfterSeconds`); never secrets. */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldProblem[] | undefined;
  readonly extensions: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    const entry = errorCatalogue[code];
    super(options.detail ?? entry.title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = entry.status;
    this.title = entry.title;
    this.detail = options.detail;
    this.errors = options.errors;
    this.extensions = options.extensions;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** The same 404 for a missing id and for another tenant's id, so ids cannot be probed. */
export function notFound(kind: string, id: string): AppError {
  return new AppError('not_found', { detail: `${kind} ${JSON.stringify(id)} was not found` });
}
