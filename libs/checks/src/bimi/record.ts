/**
 * The BIMI Assertion Record (draft-brand-indicators-for-message-identification, "Assertion Record
 * Definition"; BIMI is still an Internet-Draft and section numbers move between revisions):
 *
 *   bimi-record = bimi-version (bimi-sep bimi-location) [bimi-sep bimi-evidence-location] [bimi-sep]
 *   v=BIMI1     first tag
 *   l=<uri>     HTTPS location of the SVG indicator; may be empty (declination, or VMC-only)
 *   a=<uri>     HTTPS location of the evidence document (VMC/CMC, PEM); may be empty
 *
 * Unknown tags are ignored. We accept the version in any case: the draft's ABNF has varied on it,
 * and deployed validators (and the Mail::BIMI corpus, "v=bimi1") accept lower case.
 */
import { clip } from '../shared/dns-name.ts';
import { firstValues, parseTagList } from '../shared/tag-list.ts';

export interface BimiRecord {
  raw: string;
  /** The l= URIs (a comma-separated list in early drafts, one URI later); empty when none. */
  logoUris: string[];
  /** The a= URI, or null when absent, empty or the obsolete "self". */
  evidenceUri: string | null;
  /** l= and a= both empty: the domain declines to publish an indicator. */
  declined: boolean;
  syntaxErrors: string[];
}

const VERSION = /^[ \t]*v[ \t]*=[ \t]*BIMI1[ \t]*(?:;|$)/i;
const MENTIONS_BIMI = /v[ \t]*=[ \t]*bimi/i;

export function isBimiRecord(text: string): boolean {
  return VERSION.test(text);
}

export function looksLikeIgnoredBimi(text: string): boolean {
  return !isBimiRecord(text) && MENTIONS_BIMI.test(text);
}

function isUri(text: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(text)) return false;
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

export function parseBimiRecord(raw: string): BimiRecord {
  const list = parseTagList(raw, { lowerCaseNames: true });
  const tags = firstValues(list);
  const syntaxErrors: string[] = list.problems.map((p) => `"${clip(p.text, 40)}" is not tag=value`);
  for (const name of list.duplicates) syntaxErrors.push(`tag ${name} appears more than once`);
  if (!isBimiRecord(raw)) syntaxErrors.push('the record must start with v=BIMI1');

  const l = tags.get('l');
  if (l === undefined) syntaxErrors.push('the l= tag is required (use an empty l= to decline)');
  const logoUris = (l ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  for (const uri of logoUris) {
    if (!isUri(uri)) syntaxErrors.push(`l=${clip(uri, 80)} is not a URI`);
  }

  const a = tags.get('a')?.trim() ?? '';
  const evidenceUri = a === '' || a.toLowerCase() === 'self' ? null : a;
  if (evidenceUri !== null && !isUri(evidenceUri))
    syntaxErrors.push(`a=${clip(evidenceUri, 80)} is not a URI`);
  else if (evidenceUri !== null && !/^https:/i.test(evidenceUri)) {
    syntaxErrors.push('a= must be an https: URI');
  }
  return {
    raw,
    logoUris,
    evidenceUri,
    declined: l !== undefined && logoUris.length === 0 && evidenceUri === null,
    syntaxErrors,
  };
}
