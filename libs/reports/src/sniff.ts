/**
 * What a byte string is, from its first bytes only: file names and Content-Type headers lie
 * (reporters send zip as application/octet-stream, gzip as application/zip, XML as text/plain).
 */
export type SniffedFormat = 'gzip' | 'zip' | 'xml' | 'json' | 'mime' | 'empty' | 'unknown';

/** How many leading bytes `sniffFormat` wants to see to be sure (fewer only at end of input). */
export const SNIFF_BYTES = 1024;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** RFC 5322 §3.6.8 field-name: printable US-ASCII except colon. */
function isFieldNameByte(byte: number): boolean {
  return byte >= 0x21 && byte <= 0x7e && byte !== 0x3a;
}

export function sniffFormat(head: Uint8Array): SniffedFormat {
  if (head.length === 0) return 'empty';
  // RFC 1952 §2.3.1: ID1 ID2 and CM=8 (deflate), the only method ever defined.
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  // APPNOTE 4.3.7 local file header signature; an empty zip starts with the end record PK\5\6.
  if (
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))
  )
    return 'zip';
  let at = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) at = 3;
  else if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return 'xml';
  while (at < head.length && isSpace(head[at] as number)) at++;
  // Only whitespace: nothing to parse (a whole first block of it is not a report either).
  if (at === head.length) return head.length < SNIFF_BYTES ? 'empty' : 'unknown';
  const first = head[at] as number;
  if (first === 0x3c) return 'xml';
  if (first === 0x7b) return 'json';
  return looksLikeMessage(head, at) ? 'mime' : 'unknown';
}

/** A header section: the first line is `Name: value` (or an mbox `From ` line before it). */
function looksLikeMessage(head: Uint8Array, start: number): boolean {
  let at = start;
  if (startsWithAscii(head, at, 'From ')) {
    const eol = head.indexOf(0x0a, at);
    if (eol === -1) return false;
    at = eol + 1;
  }
  const nameStart = at;
  while (at < head.length && isFieldNameByte(head[at] as number)) at++;
  return at > nameStart && at < head.length && head[at] === 0x3a;
}

function startsWithAscii(bytes: Uint8Array, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}
