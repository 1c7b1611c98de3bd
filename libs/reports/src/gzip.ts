/**
 * gzip (RFC 1952) over a buffer, streamed out. Lenient where real reporters are sloppy: bytes
 * after the last member (Mimecast appends CRLF, which makes a strict gunzip fail) are ignored;
 * concatenated members (§2.2) are joined. Strict where it matters: reserved flags, a bad CRC-32 or
 * length, and a stream that stops early are refused with a precise reason.
 */
import { ReportParseError } from './errors.ts';
import { type InflateResult, inflateRaw } from './inflate.ts';
import type { ParseBudget } from './limits.ts';

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;

function truncated(what: string, detail: string): ReportParseError {
  return new ReportParseError('report.truncated_gzip', `${what}: ${detail}`);
}

/** Length of the member header at `start` (RFC 1952 §2.3), or a refusal. */
function headerLength(data: Uint8Array, start: number, what: string): number {
  if (data.length - start < 10) throw truncated(what, 'the stream ends inside the 10-byte header');
  if (data[start + 2] !== 8)
    throw new ReportParseError(
      'report.corrupt_archive',
      `${what}: compression method ${data[start + 2]} is not deflate`,
    );
  const flags = data[start + 3] as number;
  if (flags & FRESERVED)
    throw new ReportParseError(
      'report.corrupt_archive',
      `${what}: reserved header flags 0x${flags.toString(16)} set`,
    );
  let at = start + 10;
  if (flags & FEXTRA) {
    if (at + 2 > data.length) throw truncated(what, 'the stream ends inside the extra field');
    at += 2 + ((data[at] as number) | ((data[at + 1] as number) << 8));
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      const zero = data.indexOf(0, at);
      if (zero === -1) throw truncated(what, 'the stream ends inside the file name or comment');
      at = zero + 1;
    }
  }
  if (flags & FHCRC) at += 2;
  if (at > data.length) throw truncated(what, 'the stream ends inside the header');
  return at;
}

function readUint32LE(data: Uint8Array, at: number): number {
  return (
    ((data[at] as number) | ((data[at + 1] as number) << 8) | ((data[at + 2] as number) << 16)) +
    (data[at + 3] as number) * 0x1000000
  );
}

export interface GunzipNotes {
  /** Bytes after the last member that were ignored. */
  trailingBytes: number;
  members: number;
}

/** Yields the decompressed bytes of `data`, counting them against `budget`. */
export async function* gunzip(
  data: Uint8Array,
  budget: ParseBudget,
  what: string,
  notes: GunzipNotes = { trailingBytes: 0, members: 0 },
): AsyncGenerator<Buffer> {
  let start = 0;
  let total = 0;
  while (true) {
    const body = headerLength(data, start, what);
    const result: InflateResult = { consumed: 0, produced: 0, crc: 0 };
    for await (const chunk of inflateRaw(data.subarray(body), result, {
      truncated: () =>
        truncated(what, `the deflate stream stops after ${data.length - body} compressed bytes`),
      corrupt: (message) => new ReportParseError('report.corrupt_archive', `${what}: ${message}`),
    })) {
      total += chunk.length;
      budget.addExpanded(chunk.length, total, data.length, what);
      budget.checkDeadline();
      yield chunk;
    }
    const trailer = body + result.consumed;
    if (trailer + 8 > data.length) throw truncated(what, 'the 8-byte CRC/length trailer is missing');
    if (readUint32LE(data, trailer) !== result.crc)
      throw new ReportParseError('report.corrupt_archive', `${what}: CRC-32 mismatch`);
    if (readUint32LE(data, trailer + 4) !== result.produced % 0x100000000)
      throw new ReportParseError('report.corrupt_archive', `${what}: length in the trailer does not match`);
    notes.members++;
    start = trailer + 8;
    // Another member only if it starts like one; anything else is trailing noise.
    if (!(data[start] === 0x1f && data[start + 1] === 0x8b && data[start + 2] === 8)) break;
  }
  notes.trailingBytes = data.length - start;
}
