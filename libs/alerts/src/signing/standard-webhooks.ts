/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, spec "Signature scheme").
 *
 * - Headers: `webhook-id` (the message id, the same on every retry of one message, so receivers
 *   can deduplicate), `webhook-timestamp` (integer Unix seconds of this attempt) and
 *   `webhook-signature`.
 * - Signature: `v1,` + base64 of HMAC-SHA256 over `<id>.<timestamp>.<body>` with the secret's
 *   bytes as the key. Several space-separated signatures are allowed; receivers accept the
 *   message if any one verifies. We use that for secret rotation: during the overlap, each
 *   message carries a signature per active secret.
 * - Secret: `whsec_` + base64 of 24 to 64 random bytes (we generate 32).
 *
 * The body is signed exactly as sent: callers sign the same bytes they write to the socket.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** The spec's bounds on the secret's key length. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
export const DEFAULT_SECRET_BYTES = 32;
/** More active secrets than this is a rotation left half-done; refuse rather than grow headers. */
export const MAX_ACTIVE_SECRETS = 3;
/** The tolerance the reference verifiers use against replays (5 minutes). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export interface WebhookSignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Spec: ids and timestamps must not contain the `.` separator; we also keep ids printable. */
const MESSAGE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function generateWebhookSecret(bytes = DEFAULT_SECRET_BYTES): string {
  if (!Number.isInteger(bytes) || bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    throw new Error(`secret length must be ${MIN_SECRET_BYTES}..${MAX_SECRET_BYTES} bytes`);
  }
  return WEBHOOK_SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

export type SecretParseResult = { ok: true; key: Buffer } | { ok: false; error: string };

/** Parses `whsec_<base64>`; refuses other prefixes, bad base64 and keys of the wrong length. */
export function parseWebhookSecret(secret: string): SecretParseResult {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return { ok: false, error: 'must start with whsec_' };
  const b64 = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!BASE64.test(b64) || b64.length % 4 !== 0) return { ok: false, error: 'not valid base64' };
  const key = Buffer.from(b64, 'base64');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    return {
      ok: false,
      error: `key must be ${MIN_SECRET_BYTES}..${MAX_SECRET_BYTES} bytes, got ${key.length}`,
    };
  }
  return { ok: true, key };
}

function keyOf(secret: string): Buffer {
  const parsed = parseWebhookSecret(secret);
  if (!parsed.ok) throw new Error(`invalid webhook secret: ${parsed.error}`);
  return parsed.key;
}

function unixSeconds(timestamp: Date | number): number {
  const seconds = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
  if (!Number.isSafeInteger(seconds) || seconds < 0)
    throw new Error('timestamp must be non-negative seconds');
  return seconds;
}

function hmac(key: Buffer, id: string, seconds: number, body: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${seconds}.`).update(body).digest();
}

export interface SignInput {
  /** The message id (`webhook-id`); we use the event's `evt_…` id. */
  id: string;
  /** When this attempt is sent: a Date, or Unix seconds. */
  timestamp: Date | number;
  /** The exact body bytes (or UTF-8 string) that will be sent. */
  body: string | Uint8Array;
  /** Active secrets, newest first: one `v1,` signature each (rotation). */
  secrets: readonly string[];
}

/** The `webhook-signature` value: `v1,<sig>` per secret, space-separated. */
export function signWebhook(input: SignInput): string {
  if (!MESSAGE_ID.test(input.id)) throw new Error('webhook id must be 1-128 characters of [A-Za-z0-9_-]');
  if (input.secrets.length === 0) throw new Error('at least one secret is needed');
  if (input.secrets.length > MAX_ACTIVE_SECRETS)
    throw new Error(`at most ${MAX_ACTIVE_SECRETS} active secrets`);
  const seconds = unixSeconds(input.timestamp);
  return [...new Set(input.secrets)]
    .map((s) => `v1,${hmac(keyOf(s), input.id, seconds, input.body).toString('base64')}`)
    .join(' ');
}

/** The three Standard Webhooks headers for one attempt. */
export function webhookSignatureHeaders(input: SignInput): WebhookSignatureHeaders {
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(unixSeconds(input.timestamp)),
    'webhook-signature': signWebhook(input),
  };
}

/**
 * The secrets to sign with during a rotation: the current one, plus the previous one until its
 * grace period ends (receivers switch over in that window without missing a message).
 */
export function activeSecrets(input: {
  current: string;
  previous?: string | null;
  previousValidUntil?: Date | null;
  now: Date;
}): string[] {
  const keepPrevious =
    input.previous && input.previousValidUntil && input.previousValidUntil.getTime() > input.now.getTime();
  return keepPrevious ? [input.current, input.previous as string] : [input.current];
}

export type VerifyFailure =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature';

export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailure };

/**
 * Verifies a received message (the receiver's side, for our own tests and for operators who
 * relay webhooks). Constant-time comparison; any one matching `v1` signature is enough.
 */
export function verifyWebhook(input: {
  body: string | Uint8Array;
  headers: Record<string, string | string[] | undefined>;
  secrets: readonly string[];
  now?: Date;
  toleranceSeconds?: number;
}): VerifyResult {
  const header = (name: string): string | undefined => {
    const entry = Object.entries(input.headers).find(([k]) => k.toLowerCase() === name);
    const value = entry?.[1];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = header('webhook-id');
  const ts = header('webhook-timestamp');
  const sig = header('webhook-signature');
  if (!id || !ts || !sig) return { ok: false, reason: 'missing_headers' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'invalid_timestamp' };
  const seconds = Number(ts);
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (now - seconds > tolerance) return { ok: false, reason: 'timestamp_too_old' };
  if (seconds - now > tolerance) return { ok: false, reason: 'timestamp_too_new' };
  const offered = sig
    .split(' ')
    .map((part) => part.split(','))
    .filter((p): p is [string, string] => p.length === 2 && p[0] === 'v1')
    .map(([, value]) => Buffer.from(value, 'base64'));
  for (const secret of input.secrets) {
    const parsed = parseWebhookSecret(secret);
    if (!parsed.ok) continue;
    const expected = hmac(parsed.key, id, seconds, input.body);
    if (offered.some((o) => o.length === expected.length && timingSafeEqual(o, expected)))
      return { ok: true };
  }
  return { ok: false, reason: 'no_matching_signature' };
}
