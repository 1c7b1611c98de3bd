/**
 * The `_mta-sts` TXT record, RFC 8461 §3.1:
 *
 *   sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
 *   sts-field-delim = *WSP ";" *WSP
 *   sts-version     = %s"v=STSv1"
 *   sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
 *   sts-extension   = sts-ext-name "=" sts-ext-value
 *   sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 *   sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
 *
 * Leniency, on purpose: trailing whitespace after the last field is accepted (it is invisible in
 * most DNS consoles and harmless); a repeated id keeps the first one (§3.2, last paragraph).
 */

export interface StsRecord {
  id: string;
  extensions: Record<string, string>;
  /** Field names that appeared more than once (the first occurrence is used). */
  duplicates: string[];
}

export type StsRecordParse = ({ ok: true } & StsRecord) | { ok: false; error: string };

/** §3.1: records that do not begin with "v=STSv1;" are discarded before counting. */
const CANDIDATE = /^v=STSv1[ \t]*(?:;|$)/;
const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const ID = /^[A-Za-z0-9]{1,32}$/;
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;
const trimWsp = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, '');

/** Joins the character-strings of one TXT record (they form one value). */
export function txtText(strings: readonly string[]): string {
  return strings.join('');
}

export function isStsCandidate(text: string): boolean {
  return CANDIDATE.test(text);
}

export function parseStsRecord(input: string): StsRecordParse {
  const text = input.replace(/[ \t]+$/, '');
  if (!isStsCandidate(text)) return { ok: false, error: 'the record does not begin with "v=STSv1"' };
  const parts = text.split(';');
  const fields = parts.slice(1).map(trimWsp);
  if (fields.length > 0 && fields.at(-1) === '') fields.pop(); // the optional trailing delimiter
  if (fields.length === 0) return { ok: false, error: 'no id field after "v=STSv1"' };
  let id: string | undefined;
  const extensions: Record<string, string> = {};
  const duplicates: string[] = [];
  for (const field of fields) {
    if (field === '') return { ok: false, error: 'empty field (";;")' };
    const eq = field.indexOf('=');
    if (eq <= 0) return { ok: false, error: `field ${JSON.stringify(field)} is not name=value` };
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (name === 'id') {
      if (!ID.test(value))
        return { ok: false, error: `id ${JSON.stringify(value)} is not 1-32 letters and digits` };
      if (id === undefined) id = value;
      else duplicates.push('id');
      continue;
    }
    if (name === 'v') {
      duplicates.push('v');
      continue;
    }
    if (!EXT_NAME.test(name)) return { ok: false, error: `field name ${JSON.stringify(name)} is not valid` };
    if (!EXT_VALUE.test(value))
      return { ok: false, error: `value of ${name} has invalid characters or is empty` };
    if (Object.hasOwn(extensions, name)) duplicates.push(name);
    else extensions[name] = value;
  }
  if (id === undefined) return { ok: false, error: 'the id field is missing' };
  return { ok: true, id, extensions, duplicates };
}
