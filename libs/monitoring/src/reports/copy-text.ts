/**
 * The text format of Postgres `COPY … FROM STDIN` (PostgreSQL docs, COPY, "Text Format"): one row
 * per line, columns separated by a tab, `\N` for NULL. Inside a value a backslash, a tab, a line
 * feed and a carriage return must be written as `\\`, `\t`, `\n` and `\r`; every other character is
 * taken literally, so doubling backslashes also defuses `\.` (end of data) and the octal and hex
 * escapes.
 *
 * Two things Postgres refuses in any text value are repaired here rather than failing a report
 * (the same policy as the XML decoder, which turns invalid bytes into U+FFFD): U+0000, which no
 * text or jsonb value may hold (`invalid byte sequence for encoding "UTF8": 0x00`; jsonb refuses
 * `\u0000` too), and unpaired UTF-16 surrogates, which have no UTF-8 form. Both become U+FFFD.
 * XML 1.0 allows neither, so a parsed report should never carry them; this is the last guard.
 */

/** Characters that need more than copying through: COPY specials, NUL, surrogate halves. */
const COPY_SPECIAL = /[\t\n\r\\\0\ud800-\udfff]/;
/** Characters JSON.stringify would escape (and NUL, surrogates): the slow path of `jsonString`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes.
const JSON_SPECIAL = /["\\\0-\x1f\ud800-\udfff]/;
const COPY_ESCAPES = /[\t\n\r\\]/g;
const NUL = /\0/g;

export const COPY_NULL = '\\N';

/** NUL and unpaired surrogates as U+FFFD: what Postgres text and jsonb can hold. */
export function storableText(value: string): string {
  return value.toWellFormed().replace(NUL, '\ufffd');
}

function escapeCopyChar(char: string): string {
  switch (char) {
    case '\t':
      return '\\t';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    default:
      return '\\\\';
  }
}

/** One text column in COPY text format: escaped, or `\N` for null. */
export function copyField(value: string | null): string {
  if (value === null) return COPY_NULL;
  if (!COPY_SPECIAL.test(value)) return value;
  return storableText(value).replace(COPY_ESCAPES, escapeCopyChar);
}

/**
 * A JSON string literal (or `null`) already escaped for COPY: JSON.stringify's escapes, with the
 * backslashes they introduce doubled. JSON.stringify never leaves a raw control character, so
 * backslashes are all COPY needs escaped here. JSON made of these literals and plain punctuation
 * goes into a line as it is; passing it through `copyField` would escape it twice.
 */
export function jsonString(value: string | null): string {
  if (value === null) return 'null';
  if (!JSON_SPECIAL.test(value)) return `"${value}"`;
  return JSON.stringify(storableText(value)).replaceAll('\\', '\\\\');
}
