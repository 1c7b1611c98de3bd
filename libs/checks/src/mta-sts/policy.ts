/**
 * The MTA-STS policy file, RFC 8461 §3.2, and MX pattern matching, §4.1.
 *
 *   sts-policy-term        = LF / CRLF
 *   sts-policy-field-delim = ":" *WSP
 *   sts-policy-version     = %s"version" delim %s"STSv1"
 *   sts-policy-mode        = %s"mode" delim (%s"testing" / %s"enforce" / %s"none")
 *   sts-policy-max-age     = %s"max_age" delim 1*10(DIGIT)
 *   sts-policy-mx          = %s"mx" delim ["*."] Domain          ; Domain: RFC 5321 §4.1.2
 *   sts-policy-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 *
 * Decisions where the RFC leaves room:
 * - LF and CRLF both end a line (errata 6253); trailing whitespace after a value is accepted
 *   (the ABNF allows *WSP after each field); blank lines are skipped.
 * - Unknown fields are ignored (§3.2); a repeated single-valued field keeps its first value and is
 *   reported (§3.2: "all entries except for the first SHOULD be ignored").
 * - `mx` may be absent only in mode `none` (a withdrawn policy lists nothing to enforce).
 * - `max_age` above 31557600 parses, and is reported by the check rather than voiding the policy.
 */

export const MTA_STS_MAX_AGE_SECONDS = 31_557_600; // RFC 8461 §3.2
/** RFC 8461 §3.2 allows up to 10 digits for max_age. */
const MAX_AGE_DIGITS = 10;
/** Errors reported per policy; the rest are counted, not listed. */
const MAX_REPORTED_ERRORS = 10;
/** RFC 5321 §4.5.3.1.2 (domain), §4.1.2 (sub-domain = Let-dig [Ldh-str]). */
const MAX_DOMAIN_LENGTH = 255;
const MAX_LABEL_LENGTH = 63;

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  version: 'STSv1';
  mode: StsMode;
  /** Lower-case patterns, as listed. */
  mx: string[];
  maxAge: number;
  /** Unknown fields, ignored by senders; first value of each. */
  extensions: Record<string, string>;
  /** Single-valued fields that appeared more than once. */
  duplicates: string[];
}

export type PolicyParse = { ok: true; policy: StsPolicy } | { ok: false; errors: string[] };

const FIELD = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*$/;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
/** CTLs other than HTAB (RFC 5234 B.1), which no policy field may contain. */
function hasControl(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** `["*."] Domain`: a host name, or a wildcard in the leftmost label only. */
export function isValidMxPattern(pattern: string): boolean {
  const p = pattern.toLowerCase();
  const domain = p.startsWith('*.') ? p.slice(2) : p;
  if (domain.length === 0 || domain.length > MAX_DOMAIN_LENGTH) return false;
  return domain.split('.').every((l) => l.length <= MAX_LABEL_LENGTH && LDH_LABEL.test(l));
}

/**
 * §4.1: a host matches a plain pattern when equal (case-insensitive), and `*.example.com` when it
 * is exactly one label more: `mx.example.com` matches, `example.com` and `a.b.example.com` do not.
 */
export function mxMatches(host: string, pattern: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return h === p;
  const suffix = p.slice(1);
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.');
}

export function parsePolicy(text: string): PolicyParse {
  const errors: string[] = [];
  const seen = new Map<string, string>();
  const mx: string[] = [];
  const extensions: Record<string, string> = {};
  const duplicates: string[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    const at = `line ${index + 1}`;
    const m = FIELD.exec(line);
    if (line.includes('\r')) errors.push(`${at}: bare CR inside a line`);
    else if (hasControl(line)) errors.push(`${at}: control characters`);
    else if (!m) errors.push(`${at}: not a "key: value" field: ${JSON.stringify(line.slice(0, 80))}`);
    else {
      const [, key, value] = m as unknown as [string, string, string];
      if (key === 'mx') {
        if (isValidMxPattern(value)) mx.push(value.toLowerCase());
        else errors.push(`${at}: mx ${JSON.stringify(value)} is not a host name or *.suffix`);
      } else if (key !== 'version' && key !== 'mode' && key !== 'max_age') {
        if (!Object.hasOwn(extensions, key)) extensions[key] = value;
      } else if (seen.has(key)) {
        duplicates.push(key);
      } else {
        seen.set(key, value);
      }
    }
  }

  const version = seen.get('version');
  const mode = seen.get('mode');
  const maxAgeText = seen.get('max_age');
  if (version === undefined) errors.push('version is missing');
  else if (version !== 'STSv1') errors.push(`version ${JSON.stringify(version)} is not "STSv1"`);
  if (mode === undefined) errors.push('mode is missing');
  else if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') {
    errors.push(`mode ${JSON.stringify(mode)} is not enforce, testing or none`);
  }
  if (maxAgeText === undefined) errors.push('max_age is missing');
  else if (!/^\d+$/.test(maxAgeText) || maxAgeText.length > MAX_AGE_DIGITS) {
    errors.push(`max_age ${JSON.stringify(maxAgeText)} is not 1-${MAX_AGE_DIGITS} digits`);
  }
  if (mx.length === 0 && mode !== 'none') errors.push('no mx field (required unless mode is none)');

  if (errors.length > 0) {
    const shown = errors.slice(0, MAX_REPORTED_ERRORS);
    if (errors.length > shown.length) shown.push(`… and ${errors.length - shown.length} more`);
    return { ok: false, errors: shown };
  }
  return {
    ok: true,
    policy: {
      version: 'STSv1',
      mode: mode as StsMode,
      mx,
      maxAge: Number(maxAgeText),
      extensions,
      duplicates,
    },
  };
}
