/**
 * Bytes to text for the XML parser, streamed. saxes takes strings, so the encoding is decided
 * here from the byte order mark or the XML declaration (XML 1.0 Appendix F); old reporters send
 * windows-1252 and ISO-8859-1. Invalid bytes become U+FFFD rather than failing the report.
 */
import { TextDecoder } from 'node:util';

const HEAD_BYTES = 256;

export function xmlEncodingOf(head: Uint8Array): string {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  const start = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, HEAD_BYTES)).toString(
    'latin1',
  );
  const declared = /^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']/.exec(start)?.[1];
  if (!declared) return 'utf-8';
  try {
    return new TextDecoder(declared).encoding;
  } catch {
    return 'utf-8';
  }
}

/** Decodes a stream of byte chunks into text chunks in the document's encoding. */
export async function* decodeXml(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  let decoder: TextDecoder | undefined;
  let head: Uint8Array[] = [];
  let headBytes = 0;
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    let input = chunk;
    if (!decoder) {
      // Enough bytes to see the XML declaration, even when the source trickles.
      head.push(chunk);
      headBytes += chunk.length;
      if (headBytes < HEAD_BYTES) continue;
      input = head.length === 1 ? chunk : Buffer.concat(head);
      head = [];
      decoder = new TextDecoder(xmlEncodingOf(input));
    }
    const text = decoder.decode(input, { stream: true });
    if (text.length > 0) yield text;
  }
  if (!decoder && headBytes > 0) {
    const input = Buffer.concat(head);
    decoder = new TextDecoder(xmlEncodingOf(input));
    const text = decoder.decode(input, { stream: true });
    if (text.length > 0) yield text;
  }
  const rest = decoder?.decode();
  if (rest) yield rest;
}
