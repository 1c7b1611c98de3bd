/**
 * The TLS-RPT policy record (RFC 8460 §3), TXT at `_smtp._tls.<domain>`:
 *
 *   tlsrpt-record    = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
 *   field-delim      = *WSP ";" *WSP
 *   tlsrpt-field     = tlsrpt-rua / tlsrpt-extension      ; rua is required
 *   tlsrpt-version   = %s"v=TLSRPTv1"
 *   tlsrpt-rua       = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
 *   tlsrpt-extension = tlsrpt-ext-name "=" tlsrpt-ext-value
 *   tlsrpt-ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 *   tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
 *
 * `%s` strings are case-sensitive (RFC 7405), and the grammar has no whitespace around "=".
 */
import { normalizeDnsName } from '../shared/dns-name.ts';

/** RFC 8460 §3: the two report URI schemes. */
export const TLSRPT_URI_SCHEMES: ReadonlySet<string> = new Set(['mailto', 'https']);

export interface TlsRptUri {
  uri: string;
  scheme: string | null;
  host: string | null;
  /** Null when valid, else why not. */
  problem: string | null;
}

export interface TlsRptRecord {
  raw: string;
  rua: TlsRptUri[];
  extensions: Record<string, string>;
  /** Syntax problems; any of them makes senders ignore the record (§3). */
  syntaxErrors: string[];
}

const VERSION_FIELD = 'v=TLSRPTv1';
const WSP_EDGES = /^[ \t]+|[ \t]+$/g;
const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

/** RFC 8460 §3: records that do not begin with "v=TLSRPTv1" (then ";") are discarded. */
export function isTlsRptRecord(text: string): boolean {
  return /^v=TLSRPTv1[ \t]*(?:;|$)/.test(text);
}

/** A record meant as TLS-RPT that senders discard (wrong case, spaces, typo in the version). */
export function looksLikeIgnoredTlsRpt(text: string): boolean {
  return !isTlsRptRecord(text) && /v\s*=\s*tlsrpt/i.test(text);
}

function parseUri(text: string): TlsRptUri {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase() ?? null;
  const result: TlsRptUri = { uri: text, scheme, host: null, problem: null };
  if (scheme === null) return { ...result, problem: 'not a URI: the scheme (mailto: or https:) is missing' };
  if (!TLSRPT_URI_SCHEMES.has(scheme))
    return { ...result, problem: `${scheme}: is not a TLS-RPT scheme; use mailto: or https:` };
  if (scheme === 'mailto') {
    const address = text.slice('mailto:'.length).split('?')[0] ?? '';
    const at = address.lastIndexOf('@');
    const host = at > 0 ? normalizeDnsName(address.slice(at + 1)) : null;
    return host === null
      ? { ...result, problem: 'mailto: URI without a valid address' }
      : { ...result, host };
  }
  try {
    const url = new URL(text);
    const host = normalizeDnsName(url.hostname.replace(/^\[|\]$/g, ''));
    if (host === null && !/^\[.*\]$/.test(url.hostname))
      return { ...result, problem: 'https: URI without a valid host' };
    return { ...result, host };
  } catch {
    return { ...result, problem: 'https: URI that does not parse' };
  }
}

export function parseTlsRptRecord(raw: string): TlsRptRecord {
  const record: TlsRptRecord = { raw, rua: [], extensions: {}, syntaxErrors: [] };
  const fields = raw.split(';').map((field) => field.replace(WSP_EDGES, ''));
  if (fields.at(-1) === '') fields.pop();
  if (fields[0] !== VERSION_FIELD) record.syntaxErrors.push('the record must start with v=TLSRPTv1');
  let ruaSeen = 0;
  for (const field of fields.slice(1)) {
    if (field === '') {
      record.syntaxErrors.push('empty field (";;")');
      continue;
    }
    const equals = field.indexOf('=');
    const name = equals < 0 ? field : field.slice(0, equals);
    const value = equals < 0 ? '' : field.slice(equals + 1);
    if (equals < 0 || !EXT_NAME.test(name)) {
      record.syntaxErrors.push(`"${field.slice(0, 40)}" is not name=value (no spaces around "=")`);
      continue;
    }
    if (name === 'rua') {
      ruaSeen++;
      if (ruaSeen === 1) record.rua = value.split(',').map((u) => parseUri(u.replace(WSP_EDGES, '')));
      continue;
    }
    if (name === 'v') {
      record.syntaxErrors.push('v= appears more than once');
      continue;
    }
    if (!EXT_VALUE.test(value)) record.syntaxErrors.push(`extension ${name} has an invalid value`);
    else if (Object.keys(record.extensions).length < 20) record.extensions[name] = value;
  }
  if (ruaSeen === 0) record.syntaxErrors.push('the rua field is required (RFC 8460 §3)');
  if (ruaSeen > 1) record.syntaxErrors.push('rua appears more than once');
  return record;
}
