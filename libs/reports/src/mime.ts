/**
 * A bounded MIME walker (RFC 2045/2046, RFC 5322 header sections) over a message in memory. It
 * does only what report intake needs: split the tree, undo base64 and quoted-printable, and say
 * each part's declared type, which is treated as a hint (attachments are picked by sniffing their
 * bytes). Parts and nesting are bounded; a missing closing boundary or a header-less part is
 * tolerated, as real reporters produce both.
 */
import { ReportParseError } from './errors.ts';
import type { ReportLimits } from './limits.ts';

export interface MimeHeader {
  /** Lower case. */
  name: string;
  /** Unfolded (RFC 5322 §2.2.3), not decoded. */
  value: string;
}

export interface MimePart {
  /** `1`, `1.2`, ...: the position in the tree (the top level is ``). */
  path: string;
  headers: MimeHeader[];
  /** Lower-case `type/subtype`; `text/plain` when absent (RFC 2045 §5.2). */
  contentType: string;
  params: Record<string, string>;
  filename: string | null;
  /** Transfer-decoded body of a leaf; for multiparts the raw body. */
  body: Buffer;
  children: MimePart[];
}

const MAX_HEADERS = 1000;

interface WalkState {
  limits: ReportLimits;
  parts: number;
}

/** The end of the header section: the first empty line (CRLF or LF line ends). */
function headerEnd(data: Buffer): { headers: number; body: number } {
  let at = 0;
  while (at < data.length) {
    const eol = data.indexOf(0x0a, at);
    if (eol === -1) return { headers: data.length, body: data.length };
    const lineLength = eol - at - (eol > at && data[eol - 1] === 0x0d ? 1 : 0);
    if (lineLength === 0) return { headers: at, body: eol + 1 };
    at = eol + 1;
  }
  return { headers: data.length, body: data.length };
}

export function parseHeaderSection(text: string): MimeHeader[] {
  const headers: MimeHeader[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t') && headers.length > 0) {
      const last = headers[headers.length - 1] as MimeHeader;
      last.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    if (headers.length >= MAX_HEADERS) break;
    headers.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return headers;
}

export function headerValue(headers: readonly MimeHeader[], name: string): string | null {
  return headers.find((header) => header.name === name)?.value ?? null;
}

/** `type/subtype; name=value; name="quoted value"` (RFC 2045 §5.1). */
export function parseContentType(value: string | null): { type: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  if (value === null) return { type: 'text/plain', params };
  const semicolon = value.indexOf(';');
  const type = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  const rest = semicolon === -1 ? '' : value.slice(semicolon + 1);
  const paramRe = /\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))\s*;?/g;
  for (const match of rest.matchAll(paramRe)) {
    const name = (match[1] as string).toLowerCase();
    params[name] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '').trim();
  }
  return { type: type.includes('/') ? type : 'text/plain', params };
}

function decodeQuotedPrintable(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  let length = 0;
  for (let at = 0; at < data.length; at++) {
    const byte = data[at] as number;
    if (byte !== 0x3d) {
      out[length++] = byte;
      continue;
    }
    const next = data[at + 1];
    if (next === 0x0a) {
      at += 1;
    } else if (next === 0x0d && data[at + 2] === 0x0a) {
      at += 2;
    } else {
      const hex = data.toString('latin1', at + 1, at + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        out[length++] = Number.parseInt(hex, 16);
        at += 2;
      } else out[length++] = byte;
    }
  }
  return out.subarray(0, length);
}

function transferDecode(body: Buffer, encoding: string | null): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.toString('latin1'), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

/** Splits a multipart body at its boundary (RFC 2046 §5.1.1); the preamble and epilogue go. */
function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: Buffer[] = [];
  let at = body.subarray(0, delimiter.length).equals(delimiter) ? 0 : -1;
  if (at === -1) {
    const found = body.indexOf(Buffer.concat([Buffer.from('\n'), delimiter]));
    if (found === -1) return parts;
    at = found + 1;
  }
  while (at !== -1) {
    const afterDelimiter = at + delimiter.length;
    if (body[afterDelimiter] === 0x2d && body[afterDelimiter + 1] === 0x2d) break;
    const lineEnd = body.indexOf(0x0a, afterDelimiter);
    if (lineEnd === -1) break;
    const start = lineEnd + 1;
    const next = body.indexOf(Buffer.concat([Buffer.from('\n'), delimiter]), start - 1);
    if (next === -1) {
      // No closing delimiter: the rest is the last part.
      parts.push(body.subarray(start));
      break;
    }
    let end = next;
    if (end > start && body[end - 1] === 0x0d) end--;
    parts.push(body.subarray(start, Math.max(start, end)));
    at = next + 1;
  }
  return parts;
}

function walk(data: Buffer, path: string, depth: number, state: WalkState): MimePart {
  if (++state.parts > state.limits.maxMimeParts)
    throw new ReportParseError(
      'report.too_many_entries',
      `the message has more than ${state.limits.maxMimeParts} MIME parts`,
    );
  if (depth > state.limits.maxMimeDepth)
    throw new ReportParseError('report.too_deep', `MIME parts nest deeper than ${state.limits.maxMimeDepth}`);
  const { headers: headerBytes, body: bodyStart } = headerEnd(data);
  const headers = parseHeaderSection(data.toString('utf8', 0, headerBytes));
  const { type, params } = parseContentType(headerValue(headers, 'content-type'));
  const disposition = parseContentType(
    `x/x;${(headerValue(headers, 'content-disposition') ?? '').replace(/^[^;]*;?/, '')}`,
  );
  const filename = disposition.params.filename ?? params.name ?? null;
  const raw = data.subarray(bodyStart);
  const part: MimePart = { path, headers, contentType: type, params, filename, body: raw, children: [] };
  if (type.startsWith('multipart/') && params.boundary) {
    splitMultipart(raw, params.boundary).forEach((child, index) => {
      part.children.push(
        walk(child, path === '' ? `${index + 1}` : `${path}.${index + 1}`, depth + 1, state),
      );
    });
    return part;
  }
  part.body = transferDecode(raw, headerValue(headers, 'content-transfer-encoding'));
  if (type === 'message/rfc822' || type === 'message/global')
    part.children.push(walk(part.body, path === '' ? '1' : `${path}.1`, depth + 1, state));
  return part;
}

export function parseMime(data: Buffer, limits: ReportLimits): MimePart {
  return walk(data, '', 0, { limits, parts: 0 });
}

/** Every part, depth first, the root included. */
export function* allParts(root: MimePart): Generator<MimePart> {
  yield root;
  for (const child of root.children) yield* allParts(child);
}
