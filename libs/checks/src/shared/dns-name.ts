/**
 * Domain-name helpers used by the record checks. Names are handled in their A-label (ASCII)
 * form, lower-cased, without the trailing root dot: that is how the Resolver is queried and how
 * names are compared.
 */
import { domainToASCII } from 'node:url';

/** RFC 1035 §2.3.4: 63 octets per label, 255 octets per name on the wire (253 as text). */
export const MAX_LABEL_OCTETS = 63;
export const MAX_NAME_CHARS = 253;

/*
 * Letters, digits, hyphen (RFC 1123 §2.1) and underscore, which the protocol owner names use
 * (`_dmarc`, `_domainkey`, `_smtp._tls`, `_bimi`, RFC 8552). No wildcards: we query names, we do
 * not publish them.
 */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

/**
 * Normalises a name for querying, or returns null when it cannot be a DNS name: empty labels,
 * over-long labels or names, or characters outside the LDH+underscore set after IDNA conversion.
 */
export function normalizeDnsName(input: string): string | null {
  let name = input.trim().toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '' || name.length > MAX_NAME_CHARS) return null;
  // Unicode (U-label) input is converted to A-labels (UTS #46); ASCII input is validated label by
  // label below instead, so that our stricter rules apply to it.
  if (/[^\x21-\x7e]/.test(name)) {
    const ascii = domainToASCII(name);
    if (ascii === '') return null;
    name = ascii;
  }
  if (name.length > MAX_NAME_CHARS) return null;
  for (const label of name.split('.')) {
    if (label.length === 0 || label.length > MAX_LABEL_OCTETS || !LABEL.test(label)) return null;
  }
  return name;
}

/** True when `name` equals `ancestor` or lies below it. Both normalised. */
export function isAtOrBelow(name: string, ancestor: string): boolean {
  return name === ancestor || name.endsWith(`.${ancestor}`);
}

/** Joins the character-strings of one TXT record (RFC 7208 §3.3, RFC 6376 §3.6.2.2 alike). */
export function joinTxt(strings: readonly string[]): string {
  return strings.join('');
}

/** Evidence and facts never carry more than this much of one record. */
export const MAX_EVIDENCE_CHARS = 1024;

/** Shortens hostile values for evidence, saying how much was left out. */
export function clip(text: string, max = MAX_EVIDENCE_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (+${text.length - max} chars)`;
}
