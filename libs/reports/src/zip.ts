/**
 * A bounded zip reader (PKWARE APPNOTE 6.3): the central directory is the truth, read from the
 * end-of-central-directory record; entries are stored (0) or deflated (8), inflated with
 * zlib.inflateRaw while every output byte is counted. Refused: more entries than the limit
 * (checked before reading any), zip64, encryption, other methods, declared sizes or ratios beyond
 * the limits, and — the real defence — actual output beyond them, whatever the headers claim.
 */
import { ReportParseError } from './errors.ts';
import { type InflateResult, inflateRaw } from './inflate.ts';
import type { ParseBudget } from './limits.ts';

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const FEED_BYTES = 64 * 1024;

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

function u16(data: Uint8Array, at: number): number {
  return (data[at] as number) | ((data[at + 1] as number) << 8);
}

function u32(data: Uint8Array, at: number): number {
  return u16(data, at) + u16(data, at + 2) * 0x10000;
}

function corrupt(what: string, detail: string): ReportParseError {
  return new ReportParseError('report.corrupt_archive', `${what}: ${detail}`);
}

function findEndRecord(data: Uint8Array, what: string): number {
  const lowest = Math.max(0, data.length - EOCD_BYTES - MAX_COMMENT_BYTES);
  for (let at = data.length - EOCD_BYTES; at >= lowest; at--) {
    if (data[at] === 0x50 && data[at + 1] === 0x4b && u32(data, at) === EOCD_SIGNATURE) return at;
  }
  throw corrupt(what, 'no end-of-central-directory record (truncated zip?)');
}

/** The file entries of a zip (directories left out), validated against the limits. */
export function readZipDirectory(data: Uint8Array, budget: ParseBudget, what: string): ZipEntry[] {
  const { limits } = budget;
  const end = findEndRecord(data, what);
  const total = u16(data, end + 10);
  const cdSize = u32(data, end + 12);
  const cdOffset = u32(data, end + 16);
  if (total === 0xffff || cdOffset === 0xffffffff) throw corrupt(what, 'zip64 archives are not supported');
  if (total > limits.maxZipEntries)
    throw new ReportParseError(
      'report.too_many_entries',
      `${what} lists ${total} entries; at most ${limits.maxZipEntries} are read`,
    );
  if (u16(data, end + 4) !== 0 || u16(data, end + 6) !== 0)
    throw corrupt(what, 'multi-disk archives are not supported');
  if (cdOffset + cdSize > end) throw corrupt(what, 'the central directory lies outside the file');
  const entries: ZipEntry[] = [];
  let at = cdOffset;
  for (let index = 0; index < total; index++) {
    if (at + 46 > end || u32(data, at) !== CENTRAL_SIGNATURE)
      throw corrupt(what, `central directory entry ${index} is damaged`);
    const nameLength = u16(data, at + 28);
    const next = at + 46 + nameLength + u16(data, at + 30) + u16(data, at + 32);
    if (next > end) throw corrupt(what, `central directory entry ${index} runs past the directory`);
    const entry: ZipEntry = {
      flags: u16(data, at + 8),
      method: u16(data, at + 10),
      crc: u32(data, at + 16),
      compressedSize: u32(data, at + 20),
      size: u32(data, at + 24),
      localHeaderOffset: u32(data, at + 42),
      name: Buffer.from(data.buffer, data.byteOffset + at + 46, nameLength).toString('utf8'),
    };
    at = next;
    if (entry.name.endsWith('/') && entry.size === 0) continue;
    entries.push(entry);
  }
  return entries;
}

function checkEntry(data: Uint8Array, entry: ZipEntry, budget: ParseBudget, what: string): number {
  const { limits } = budget;
  const label = `${what} entry ${JSON.stringify(entry.name)}`;
  if (entry.flags & 0x1) throw corrupt(label, 'encrypted entries are not supported');
  if (entry.method !== 0 && entry.method !== 8)
    throw corrupt(label, `compression method ${entry.method} is not supported`);
  if (entry.compressedSize === 0xffffffff || entry.size === 0xffffffff)
    throw corrupt(label, 'zip64 entries are not supported');
  if (entry.size > limits.maxXmlBytes)
    throw new ReportParseError(
      'report.too_large',
      `${label} declares ${entry.size} bytes; the limit is ${limits.maxXmlBytes}`,
    );
  if (
    entry.size > limits.ratioCheckAfterBytes &&
    entry.size > Math.max(1, entry.compressedSize) * limits.maxCompressionRatio
  )
    throw new ReportParseError(
      'report.zip_bomb',
      `${label} declares ${entry.size} bytes from ${entry.compressedSize} (ratio limit ${limits.maxCompressionRatio})`,
    );
  const local = entry.localHeaderOffset;
  if (local + 30 > data.length || u32(data, local) !== LOCAL_SIGNATURE)
    throw corrupt(label, 'the local header is damaged');
  const start = local + 30 + u16(data, local + 26) + u16(data, local + 28);
  if (start + entry.compressedSize > data.length)
    throw corrupt(label, 'the entry runs past the end of the file');
  return start;
}

/** Running output of one archive, for the ratio check across its entries. */
export interface ArchiveCounter {
  produced: number;
}

/** Yields one entry's bytes, counted against the budget and checked against its CRC-32. */
export async function* zipEntryContent(
  data: Uint8Array,
  entry: ZipEntry,
  budget: ParseBudget,
  counter: ArchiveCounter,
  what: string,
): AsyncGenerator<Buffer> {
  const label = `${what} entry ${JSON.stringify(entry.name)}`;
  const start = checkEntry(data, entry, budget, what);
  const compressed = data.subarray(start, start + entry.compressedSize);
  const count = (chunk: Uint8Array): void => {
    counter.produced += chunk.length;
    budget.addExpanded(chunk.length, counter.produced, data.length, label);
    budget.checkDeadline();
  };
  if (entry.method === 0) {
    for (let at = 0; at < compressed.length; at += FEED_BYTES) {
      const chunk = Buffer.from(
        compressed.buffer,
        compressed.byteOffset + at,
        Math.min(FEED_BYTES, compressed.length - at),
      );
      count(chunk);
      yield chunk;
    }
    return;
  }
  const result: InflateResult = { consumed: 0, produced: 0, crc: 0 };
  for await (const chunk of inflateRaw(compressed, result, {
    truncated: () => corrupt(label, 'the deflate stream stops early'),
    corrupt: (message) => corrupt(label, message),
  })) {
    count(chunk);
    yield chunk;
  }
  if (result.crc !== entry.crc) throw corrupt(label, 'CRC-32 mismatch');
}
