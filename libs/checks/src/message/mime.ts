/**
 * A small, bounded MIME reader for the message check: header fields (RFC 5322 §2.2, unfolded,
 * RFC 2047 encoded-words decoded), the text parts of a multipart tree (RFC 2046 §5.1) decoded
 * from base64 or quoted-printable (RFC 2045 §6) and from their charset, and a summary of the other
 * parts. It exists to find the URLs and domains a reader would see, so it is lenient where real
 * mail is sloppy and strict about cost: every count, depth and size is capped, and what a cap
 * left out is reported, so a hostile message costs linear time and bounded memory.
 *
 * Bytes are handled as a latin1 string (one char per byte): structure is found with indexOf on
 * ASCII markers, and each slice turns back into exact bytes for decoding.
 */

export const MIME_LIMITS = {
  /** Parts visited in the whole tree. */
  maxParts: 256,
  /** multipart and message/rfc822 nesting. */
  maxDepth: 16,
  /** Header fields kept per header block. */
  maxHeaderFields: 512,
  /** Bytes of one header block. */
  maxHeaderBytes: 256 * 1024,
  /** Decoded text (all text parts together), characters. */
  maxTextChars: 4 * 1024 * 1024,
} as const;

export interface HeaderField {
  /** Lower case. */
  name: string;
  /** Unfolded, encoded-words decoded. */
  value: string;
}

export interface TextPart {
  /** `text/plain`, `text/html`, … */
  contentType: string;
  charset: string;
  text: string;
  /** Depth of the part in the tree (0: the message itself). */
  depth: number;
}

export interface OtherPart {
  contentType: string;
  filename?: string;
  /** Encoded size, bytes. */
  bytes: number;
}

export interface ParsedMime {
  /** The top-level header of the message. */
  headers: HeaderField[];
  /** Headers of enclosed messages (message/rfc822 parts), which a reader sees too. */
  nestedHeaders: HeaderField[];
  texts: TextPart[];
  others: OtherPart[];
  partCount: number;
  /** What a cap left out, in words; empty when the whole message was read. */
  truncated: string[];
}

interface ContentType {
  type: string;
  params: Record<string, string>;
}

function splitHead(source: string): { head: string; body: string } {
  const crlf = source.indexOf('\r\n\r\n');
  const lf = source.indexOf('\n\n');
  if (crlf === -1 && lf === -1) return { head: source, body: '' };
  if (lf !== -1 && (crlf === -1 || lf < crlf))
    return { head: source.slice(0, lf), body: source.slice(lf + 2) };
  return { head: source.slice(0, crlf), body: source.slice(crlf + 4) };
}

function decodeBytes(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset || 'utf-8', { fatal: false }).decode(bytes);
  } catch {
    // An unknown label (RFC 2046 §4.1.2 lets senders name anything): UTF-8 reads ASCII right.
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  }
}

const latin1Bytes = (text: string) => Buffer.from(text, 'latin1');

/** RFC 2045 §6.7 quoted-printable, lenient: a bad escape stays as it is. */
export function decodeQuotedPrintable(text: string, header = false): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3d /* = */) {
      if (text[i + 1] === '\r' && text[i + 2] === '\n') {
        i += 2;
        continue;
      }
      if (text[i + 1] === '\n') {
        i += 1;
        continue;
      }
      const hex = text.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        out.push(Number.parseInt(hex, 16));
        i += 2;
        continue;
      }
    }
    // RFC 2047 §4.2: in an encoded-word "_" is a space.
    out.push(header && c === 0x5f ? 0x20 : c & 0xff);
  }
  return Uint8Array.from(out);
}

/** RFC 2047 encoded-words (`=?charset?B|Q?text?=`); adjacent words join without the space between. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?)/g, '$1')
    .replace(
      /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g,
      (_m, charset: string, encoding: string, text: string) => {
        const bytes =
          encoding.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeQuotedPrintable(text, true);
        // RFC 2231 §5 language suffix: `utf-8*en`.
        return decodeBytes(bytes, charset.split('*')[0] ?? 'utf-8');
      },
    );
}

function parseHeaderBlock(head: string, truncated: string[]): HeaderField[] {
  let block = head;
  if (block.length > MIME_LIMITS.maxHeaderBytes) {
    block = block.slice(0, MIME_LIMITS.maxHeaderBytes);
    truncated.push(`a header block over ${MIME_LIMITS.maxHeaderBytes} bytes`);
  }
  const fields: HeaderField[] = [];
  let current: string | null = null;
  const flush = () => {
    if (current === null) return;
    const colon = current.indexOf(':');
    if (colon > 0) {
      const name = current.slice(0, colon).trim().toLowerCase();
      // Header bytes are UTF-8 in practice (RFC 6532); encoded-words cover the rest.
      const raw = decodeBytes(latin1Bytes(current.slice(colon + 1)), 'utf-8');
      if (fields.length < MIME_LIMITS.maxHeaderFields)
        fields.push({ name, value: decodeEncodedWords(raw.trim()) });
      else if (fields.length === MIME_LIMITS.maxHeaderFields) {
        truncated.push(`header fields beyond ${MIME_LIMITS.maxHeaderFields}`);
        fields.length = MIME_LIMITS.maxHeaderFields;
      }
    }
    current = null;
  };
  for (const line of block.split(/\r?\n/)) {
    // RFC 5322 §2.2.3: a line starting with white space continues the field above.
    if ((line.startsWith(' ') || line.startsWith('\t')) && current !== null) current += ` ${line.trim()}`;
    else {
      flush();
      current = line;
    }
  }
  flush();
  return fields;
}

function header(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find((f) => f.name === name)?.value;
}

/** RFC 2045 §5.1, with quoted values; parameter names lower-cased. */
export function parseContentType(value: string | undefined): ContentType {
  if (!value) return { type: 'text/plain', params: {} };
  const [typePart, ...rest] = value.split(';');
  const type = (typePart ?? '').trim().toLowerCase() || 'text/plain';
  const params: Record<string, string> = {};
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  const paramText = value.slice((typePart ?? '').length);
  for (const m of paramText.matchAll(re)) {
    const name = (m[1] ?? '').toLowerCase();
    const v = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    if (!(name in params)) params[name] = v;
  }
  return { type: rest.length >= 0 && type.includes('/') ? type : 'text/plain', params };
}

function decodeTransfer(body: string, encoding: string | undefined): Uint8Array {
  const cte = (encoding ?? '').trim().toLowerCase();
  if (cte === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'quoted-printable') return decodeQuotedPrintable(body);
  return latin1Bytes(body);
}

/** The bodies between the boundary delimiters (RFC 2046 §5.1.1); preamble and epilogue dropped. */
function splitMultipart(
  body: string,
  boundary: string,
  maxParts: number,
): { parts: string[]; more: boolean } {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  /*
   * A delimiter line starts a line and holds the delimiter, then `--` (the close) or only
   * transport padding (RFC 2046 §5.1.1); `--boundaryX` is content. Returns the index of the line
   * break before it (or -1 at the very start), or undefined when there is none.
   */
  const find = (from: number): number | undefined => {
    if (from === 0 && body.startsWith(delimiter) && isDelimiterEnd(0)) return -1;
    let at = body.indexOf(`\n${delimiter}`, from);
    while (at !== -1 && !isDelimiterEnd(at + 1)) at = body.indexOf(`\n${delimiter}`, at + 1);
    return at === -1 ? undefined : at;
  };
  function isDelimiterEnd(start: number): boolean {
    const rest = body.slice(start + delimiter.length, start + delimiter.length + 2);
    return rest === '--' || rest === '' || /^[ \t\r\n]/.test(rest);
  }
  let found = find(0);
  while (found !== undefined) {
    const at = found + 1;
    const afterDelimiter = at + delimiter.length;
    if (body.startsWith('--', afterDelimiter)) return { parts, more: false };
    const lineEnd = body.indexOf('\n', afterDelimiter);
    if (lineEnd === -1) break;
    const next = find(lineEnd);
    const end = next === undefined ? body.length : next;
    // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    const content = body.slice(lineEnd + 1, end);
    parts.push(content.endsWith('\r') ? content.slice(0, -1) : content);
    if (parts.length >= maxParts) return { parts, more: next !== undefined };
    found = next;
  }
  return { parts, more: false };
}

function filenameOf(fields: readonly HeaderField[], contentType: ContentType): string | undefined {
  const disposition = parseContentType(header(fields, 'content-disposition'));
  const name = disposition.params.filename ?? contentType.params.name;
  return name === undefined ? undefined : name.slice(0, 256);
}

/** Reads a raw message. Never throws for malformed input; caps are reported in `truncated`. */
export function parseMime(raw: Uint8Array): ParsedMime {
  const out: ParsedMime = {
    headers: [],
    nestedHeaders: [],
    texts: [],
    others: [],
    partCount: 0,
    truncated: [],
  };
  let textChars = 0;
  const source = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');

  const visit = (entity: string, depth: number, top: boolean): void => {
    if (out.partCount >= MIME_LIMITS.maxParts) return;
    out.partCount++;
    const { head, body } = splitHead(entity);
    const fields = parseHeaderBlock(head, out.truncated);
    if (top) out.headers = fields;
    const contentType = parseContentType(header(fields, 'content-type'));
    const encoding = header(fields, 'content-transfer-encoding');
    if (contentType.type.startsWith('multipart/')) {
      const boundary = contentType.params.boundary;
      if (!boundary || boundary.length > 200) {
        out.others.push({ contentType: contentType.type, bytes: body.length });
        return;
      }
      if (depth >= MIME_LIMITS.maxDepth) {
        out.truncated.push(`parts nested deeper than ${MIME_LIMITS.maxDepth}`);
        return;
      }
      const { parts, more } = splitMultipart(body, boundary, MIME_LIMITS.maxParts - out.partCount);
      for (const part of parts) visit(part, depth + 1, false);
      if (more || out.partCount >= MIME_LIMITS.maxParts)
        out.truncated.push(`parts beyond ${MIME_LIMITS.maxParts}`);
      return;
    }
    if (contentType.type === 'message/rfc822' || contentType.type === 'message/global') {
      if (depth >= MIME_LIMITS.maxDepth) {
        out.truncated.push(`parts nested deeper than ${MIME_LIMITS.maxDepth}`);
        return;
      }
      const inner = Buffer.from(decodeTransfer(body, encoding)).toString('latin1');
      const before = out.headers;
      const start = out.partCount;
      visit(inner, depth + 1, true);
      // The enclosed message's header is content, not this message's header.
      if (out.partCount > start) {
        out.nestedHeaders.push(...out.headers);
        out.headers = before;
      }
      return;
    }
    const filename = filenameOf(fields, contentType);
    const disposition = (header(fields, 'content-disposition') ?? '').trim().toLowerCase();
    if (contentType.type.startsWith('text/') && !disposition.startsWith('attachment')) {
      if (textChars >= MIME_LIMITS.maxTextChars) {
        out.truncated.push(`text beyond ${MIME_LIMITS.maxTextChars} characters`);
        return;
      }
      const charset = (contentType.params.charset ?? 'utf-8').trim().toLowerCase();
      let text = decodeBytes(decodeTransfer(body, encoding), charset);
      if (textChars + text.length > MIME_LIMITS.maxTextChars) {
        text = text.slice(0, MIME_LIMITS.maxTextChars - textChars);
        out.truncated.push(`text beyond ${MIME_LIMITS.maxTextChars} characters`);
      }
      textChars += text.length;
      out.texts.push({ contentType: contentType.type, charset, text, depth });
      return;
    }
    out.others.push({ contentType: contentType.type, ...(filename ? { filename } : {}), bytes: body.length });
  };

  visit(source, 0, true);
  out.truncated = [...new Set(out.truncated)];
  return out;
}
