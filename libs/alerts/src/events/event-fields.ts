/**
 * Coercion of untrusted values into payload fields: pickers read objects that may come straight
 * from jsonb, so every field is checked, bounded (text, JSON) and normalised (typed ids, ISO dates).
 */
import { type Grade, type Severity, severities } from '@mailwarden/checks';
import { decodeId, encodeId, type IdPrefix } from '@mailwarden/core';
import { MAX_TEXT_CHARS } from './event-types.ts';

export type Loose = Record<string, unknown>;
export const loose = (value: unknown): Loose =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : {};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A database uuid or an already typed id, as the typed id. Throws for anything else. */
export function publicId(prefix: IdPrefix, value: unknown): string {
  if (typeof value === 'string') {
    if (UUID_RE.test(value)) return encodeId(prefix, value.toLowerCase());
    if (decodeId(prefix, value) !== undefined) return value;
  }
  throw new Error(`not a ${prefix} id: ${JSON.stringify(value)?.slice(0, 60)}`);
}

/** Truncates by code points so a surrogate pair is never split. */
export function truncateText(value: string, maxChars: number, ellipsis = '…'): string {
  if (value.length <= maxChars) return value;
  let cut = Math.max(0, maxChars - ellipsis.length);
  const code = value.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return value.slice(0, cut) + ellipsis;
}

export const text = (value: unknown, maxChars = MAX_TEXT_CHARS): string =>
  typeof value === 'string' ? truncateText(value, maxChars) : '';
export const textOrNull = (value: unknown, maxChars = MAX_TEXT_CHARS): string | null =>
  typeof value === 'string' && value !== '' ? truncateText(value, maxChars) : null;
export const intOrNull = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : null;

export function isoOrNull(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'string' || typeof value === 'number') {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  return null;
}
export const iso = (value: unknown): string => isoOrNull(value) ?? new Date(0).toISOString();

const severitySet: ReadonlySet<string> = new Set(severities);
export const severityOf = (value: unknown): Severity =>
  typeof value === 'string' && severitySet.has(value) ? (value as Severity) : 'info';

const grades: ReadonlySet<string> = new Set(['A+', 'A', 'B', 'C', 'D', 'F']);
export const gradeOf = (value: unknown): Grade | null =>
  typeof value === 'string' && grades.has(value) ? (value as Grade) : null;

export const formats: ReadonlySet<string> = new Set(['standard', 'slack', 'email']);

/**
 * Bounds a free-form JSON object. Small enough: a plain-data copy (functions, undefined and
 * prototypes dropped). Too big or not serializable: a marker with a prefix of the JSON, so the
 * payload stays valid JSON and says what happened.
 */
export function boundJson(value: unknown, maxBytes: number): Record<string, unknown> {
  let json: string;
  try {
    json = JSON.stringify(value ?? {}) ?? '{}';
  } catch {
    return { truncated: true, reason: 'not serializable' };
  }
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) {
    const copy = JSON.parse(json) as unknown;
    return loose(copy) === copy ? (copy as Record<string, unknown>) : { value: copy };
  }
  return {
    truncated: true,
    originalBytes: bytes,
    excerpt: truncateText(json, Math.max(0, Math.floor(maxBytes / 2))),
  };
}

/**
 * Display form of a webhook target: scheme, host and port of a URL (no path, query or user info —
 * a Slack incoming-webhook URL carries its token in the path), or an e-mail address as it is.
 */
export function displayTarget(target: string): string {
  if (!/^https?:\/\//i.test(target)) return truncateText(target, 320);
  try {
    const u = new URL(target);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}
