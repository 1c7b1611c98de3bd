/**
 * Streaming raw-deflate (RFC 1951) over a buffer: the compressed bytes are in memory (bounded by
 * maxInputBytes), the output is yielded chunk by chunk and never held, so a 300 MB report costs
 * a few chunks of memory. The caller counts what comes out (ParseBudget) and stops reading to
 * abort: returning from the generator destroys the inflater.
 */
import { Readable } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import { ReportParseError } from './errors.ts';

const FEED_BYTES = 64 * 1024;

export interface InflateResult {
  /** Compressed bytes the deflate stream used (what follows is a trailer, or another entry). */
  consumed: number;
  /** Bytes produced and their CRC-32 (RFC 1952 §8, APPNOTE 4.4.7). */
  produced: number;
  crc: number;
}

function* slices(data: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < data.length; at += FEED_BYTES) yield data.subarray(at, at + FEED_BYTES);
}

/**
 * Inflates `data` (raw deflate), yielding output chunks; `result` is filled in once the stream
 * ended. Input that ends before the final block is `truncated`; other zlib errors are `corrupt`.
 */
export async function* inflateRaw(
  data: Uint8Array,
  result: InflateResult,
  errors: { truncated: () => ReportParseError; corrupt: (message: string) => ReportParseError },
): AsyncGenerator<Buffer> {
  const inflater = createInflateRaw({ chunkSize: FEED_BYTES });
  Readable.from(slices(data), { objectMode: false }).pipe(inflater);
  let produced = 0;
  let crc = 0;
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      produced += chunk.length;
      crc = crc32(chunk, crc);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof ReportParseError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'Z_BUF_ERROR') throw errors.truncated();
    throw errors.corrupt((err as Error).message);
  } finally {
    inflater.destroy();
  }
  result.consumed = inflater.bytesWritten;
  result.produced = produced;
  result.crc = crc;
}
