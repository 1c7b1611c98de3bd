/**
 * Validation of the fields a tenant sends for a report mailbox: printable text within its length,
 * IMAP folder names, OAuth scopes and token URLs. Each refusal is `validation_failed` at the
 * field's location, as every REST and GraphQL input is.
 */
import { AppError } from '@mailwarden/core';

export function invalid(location: string, message: string): AppError {
  return new AppError('validation_failed', {
    detail: `${location} ${message}`,
    errors: [{ location, message }],
  });
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

export function text(
  location: string,
  value: string,
  max: number,
  options: { allowEmpty?: boolean } = {},
): string {
  if (!options.allowEmpty && value.length === 0) throw invalid(location, 'must not be empty');
  if (value.length > max) throw invalid(location, `must be at most ${max} characters`);
  if (CONTROL.test(value)) throw invalid(location, 'must not contain control characters');
  return value;
}

/** Folder names: `/` separates levels; no empty level, no `*`/`%` (LIST wildcards). */
export function folderName(location: string, value: string): string {
  const name = text(location, value.trim(), 200);
  if (name.split('/').some((part) => part.length === 0))
    throw invalid(location, 'must not have an empty level');
  if (/[*%]/.test(name)) throw invalid(location, 'must not contain * or %');
  return name;
}

/** RFC 6749 Appendix A: client ids, secrets and tokens are VSCHAR (printable ASCII). */
const VSCHAR = /^[\x20-\x7e]+$/;

export function vschar(location: string, value: string, max: number): string {
  if (value.length === 0) throw invalid(location, 'must not be empty');
  if (value.length > max) throw invalid(location, `must be at most ${max} characters`);
  if (!VSCHAR.test(value)) throw invalid(location, 'must be printable ASCII');
  return value;
}

/** RFC 6749 §3.3: scope tokens separated by single spaces; none is null. */
export function scopeOf(value: string): string | null {
  const scopes = value.trim().split(/ +/).filter(Boolean);
  if (scopes.length === 0) return null;
  if (scopes.some((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)))
    throw invalid(
      'body.scope',
      'must be scope tokens (printable ASCII without " and \\) separated by spaces',
    );
  const joined = scopes.join(' ');
  if (joined.length > 1024) throw invalid('body.scope', 'must be at most 1024 characters');
  return joined;
}

/** RFC 6749 §3.2: an https URL without credentials or a fragment. */
export function tokenUrlOf(value: string): URL {
  const raw = text('body.tokenUrl', value.trim(), 2048);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid('body.tokenUrl', 'must be a URL');
  }
  if (u.protocol !== 'https:') throw invalid('body.tokenUrl', 'must be an https URL');
  if (u.username !== '' || u.password !== '') throw invalid('body.tokenUrl', 'must not hold credentials');
  if (u.hash !== '') throw invalid('body.tokenUrl', 'must not have a fragment');
  return u;
}
