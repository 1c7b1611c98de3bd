/**
 * DMARC report URIs, the values of `rua` and `ruf` (RFC 7489 §6.2, §6.4):
 *
 *   dmarc-urilist = dmarc-uri *(*WSP "," *WSP dmarc-uri)
 *   dmarc-uri     = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]
 *
 * Commas and "!" inside a URI must be percent-encoded (§6.2), so a bare "," separates URIs and the
 * last bare "!" starts the size limit. RFC 9989 keeps the list but makes the size limit obsolete
 * (reporters ignore it).
 */
import { normalizeDnsName } from '../shared/dns-name.ts';
import { trimWsp } from '../shared/tag-list.ts';

export interface ReportUri {
  /** The URI as written, without its size limit. */
  uri: string;
  /** Lower-cased scheme. */
  scheme: string;
  /** The host reports go to: the domain of a mailto address, or the host of an http(s) URI. */
  host: string | null;
  /** The `!size` suffix as written, or null. */
  sizeLimit: string | null;
}

export interface InvalidReportUri {
  text: string;
  reason: string;
}

/**
 * RFC 7489 §6.2: receivers MUST support mailto. Other schemes are syntactically allowed but no
 * mainstream receiver sends to them, so a list without mailto gets no reports in practice.
 */
export const SUPPORTED_REPORT_SCHEMES: ReadonlySet<string> = new Set(['mailto']);

const SIZE_LIMIT = /^\d+[kmgt]?$/i;
const SCHEME = /^([a-z][a-z0-9+.-]*):(.*)$/is;

function hostOfMailto(rest: string): string | null {
  // mailto:addr-spec[?headers] (RFC 6068 §2); the domain follows the last "@".
  const addresses = rest.split('?')[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(addresses);
  } catch {
    return null;
  }
  const at = decoded.lastIndexOf('@');
  if (at <= 0 || at === decoded.length - 1) return null;
  return normalizeDnsName(decoded.slice(at + 1));
}

function hostOfUrl(uri: string): string | null {
  try {
    const url = new URL(uri);
    return url.hostname === '' ? null : normalizeDnsName(url.hostname.replace(/^\[|\]$/g, ''));
  } catch {
    return null;
  }
}

export function parseReportUris(value: string): { uris: ReportUri[]; invalid: InvalidReportUri[] } {
  const uris: ReportUri[] = [];
  const invalid: InvalidReportUri[] = [];
  for (const rawPart of value.split(',')) {
    const part = trimWsp(rawPart);
    if (part === '') {
      invalid.push({ text: part, reason: 'empty URI in the list' });
      continue;
    }
    const bang = part.lastIndexOf('!');
    const uri = bang >= 0 ? part.slice(0, bang) : part;
    const sizeLimit = bang >= 0 ? part.slice(bang + 1) : null;
    if (sizeLimit !== null && !SIZE_LIMIT.test(sizeLimit)) {
      invalid.push({ text: part, reason: 'size limit must be digits with an optional k, m, g or t unit' });
      continue;
    }
    const scheme = SCHEME.exec(uri);
    if (!scheme) {
      invalid.push({ text: part, reason: 'not a URI: a scheme such as "mailto:" is missing' });
      continue;
    }
    const schemeName = (scheme[1] ?? '').toLowerCase();
    const host = schemeName === 'mailto' ? hostOfMailto(scheme[2] ?? '') : hostOfUrl(uri);
    if (schemeName === 'mailto' && host === null) {
      invalid.push({ text: part, reason: 'mailto URI without a valid address' });
      continue;
    }
    if (!SUPPORTED_REPORT_SCHEMES.has(schemeName)) {
      invalid.push({ text: part, reason: `receivers only send reports to mailto: URIs, not ${schemeName}:` });
    }
    uris.push({ uri, scheme: schemeName, host, sizeLimit });
  }
  return { uris, invalid };
}
