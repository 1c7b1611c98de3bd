/**
 * One entry point for any report file: raw XML, JSON, gzip, zip or a whole mail message, told
 * apart by their bytes. XML is streamed from the input; other formats are buffered first (bounded
 * by maxInputBytes) because zip needs its central directory and MIME its boundaries, and then
 * streamed out again, so decompressed data is never held whole.
 *
 * An input may hold several reports (a zip of two XML files, a message with two attachments):
 * their events follow one another. Any error ends the whole input — callers write one input in
 * one transaction, so a half-read file leaves nothing behind.
 */
import { type AggregateEvent, parseAggregateXml } from './aggregate.ts';
import { ReportParseError } from './errors.ts';
import {
  type FailureReport,
  type FailureReportOptions,
  findFeedbackPart,
  parseFailureReportMime,
} from './failure.ts';
import { gunzip } from './gzip.ts';
import { ParseBudget, type ReportLimits, resolveLimits } from './limits.ts';
import { allParts, type MimePart, parseMime } from './mime.ts';
import { SNIFF_BYTES, type SniffedFormat, sniffFormat } from './sniff.ts';
import { parseTlsReportJson, type TlsReport } from './tls-rpt.ts';
import { type ArchiveCounter, readZipDirectory, zipEntryContent } from './zip.ts';

export type ReportInput = Uint8Array | AsyncIterable<Uint8Array>;

/** Where in the input a report was found, e.g. `mime part 2 "report.zip" > zip entry "a.xml"`. */
export type ReportSource = string;

export type ReportEvent =
  | (AggregateEvent & { source: ReportSource })
  | { type: 'tls'; source: ReportSource; report: TlsReport }
  | { type: 'failure'; source: ReportSource; report: FailureReport };

export interface ReadReportsOptions {
  limits?: Partial<ReportLimits>;
  /** Failure (ARF) report handling; the report is always redacted. */
  failure?: Omit<FailureReportOptions, 'limits'>;
  /** Monotonic milliseconds for the deadline (tests); default performance.now. */
  now?: () => number;
}

const CHUNK_BYTES = 64 * 1024;

function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
}

async function* bufferChunks(data: Uint8Array): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += CHUNK_BYTES) yield toBuffer(data.subarray(at, at + CHUNK_BYTES));
}

/** Reads until `SNIFF_BYTES` are seen (or the input ends) and gives back head and the rest. */
async function peek(
  iterator: AsyncIterator<Uint8Array>,
): Promise<{ head: Buffer; chunks: Buffer[]; ended: boolean }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  while (bytes < SNIFF_BYTES) {
    const next = await iterator.next();
    if (next.done) return { head: Buffer.concat(chunks), chunks, ended: true };
    if (next.value.length === 0) continue;
    chunks.push(toBuffer(next.value));
    bytes += next.value.length;
  }
  return { head: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), chunks, ended: false };
}

/** The peeked chunks, then the rest of the iterator; every byte counted against `max`. */
async function* replay(
  chunks: Buffer[],
  iterator: AsyncIterator<Uint8Array>,
  ended: boolean,
  max: number,
  budget: ParseBudget,
  what: string,
): AsyncGenerator<Buffer> {
  let total = 0;
  const count = (chunk: Buffer): Buffer => {
    total += chunk.length;
    if (total > max) throw new ReportParseError('report.too_large', `${what} is larger than ${max} bytes`);
    budget.checkDeadline();
    return chunk;
  };
  for (const chunk of chunks) yield count(chunk);
  if (ended) return;
  while (true) {
    const next = await iterator.next();
    if (next.done) return;
    // Big chunks from a caller are cut, so every limit is checked at least every 64 KiB.
    const chunk = toBuffer(next.value);
    for (let at = 0; at < chunk.length; at += CHUNK_BYTES) yield count(chunk.subarray(at, at + CHUNK_BYTES));
  }
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

class Reader {
  readonly budget: ParseBudget;
  readonly options: ReadReportsOptions;

  constructor(budget: ParseBudget, options: ReadReportsOptions) {
    this.budget = budget;
    this.options = options;
  }

  /**
   * A document that came out of a container (gzip member, zip entry): XML or JSON only, since
   * archives inside archives are refused and a message inside an archive is not a report.
   */
  async *document(
    chunks: AsyncIterable<Buffer>,
    source: ReportSource,
    inArchive: boolean,
  ): AsyncGenerator<ReportEvent> {
    const iterator = chunks[Symbol.asyncIterator]();
    try {
      const { head, chunks: peeked, ended } = await peek(iterator);
      const format = sniffFormat(head);
      const { limits } = this.budget;
      switch (format) {
        case 'xml':
          for await (const event of parseAggregateXml(
            replay(peeked, iterator, ended, limits.maxXmlBytes, this.budget, source),
            this.budget,
            source,
          ))
            yield { ...event, source };
          return;
        case 'json': {
          const text = (
            await collect(replay(peeked, iterator, ended, limits.maxJsonBytes, this.budget, source))
          ).toString('utf8');
          yield { type: 'tls', source, report: parseTlsReportJson(text, limits, source) };
          return;
        }
        case 'gzip':
        case 'zip':
          if (inArchive)
            throw new ReportParseError(
              'report.nested_archive',
              `${source} holds a ${format} archive; archives inside archives are refused`,
            );
          break;
        case 'empty':
          throw new ReportParseError('report.empty', `${source} is empty`);
        default:
          if (inArchive)
            throw new ReportParseError('report.unsupported_format', `${source} holds neither XML nor JSON`);
      }
      // A buffered container: gzip, zip or MIME at the top, or inside a MIME part.
      const data = await collect(replay(peeked, iterator, ended, limits.maxInputBytes, this.budget, source));
      yield* this.container(data, format, source);
    } finally {
      await iterator.return?.();
    }
  }

  async *container(data: Buffer, format: SniffedFormat, source: ReportSource): AsyncGenerator<ReportEvent> {
    switch (format) {
      case 'gzip':
        yield* this.document(gunzip(data, this.budget, source), `${source} > gzip`, true);
        return;
      case 'zip':
        yield* this.zip(data, source);
        return;
      case 'mime':
        yield* this.message(data, source);
        return;
      default:
        throw new ReportParseError(
          'report.unsupported_format',
          `${source} is not XML, JSON, gzip, zip or a mail message (first bytes ${JSON.stringify(data.subarray(0, 16).toString('latin1'))})`,
        );
    }
  }

  async *zip(data: Buffer, source: ReportSource): AsyncGenerator<ReportEvent> {
    const entries = readZipDirectory(data, this.budget, source);
    const counter: ArchiveCounter = { produced: 0 };
    let found = 0;
    const skipped: string[] = [];
    for (const entry of entries) {
      const where = `${source} > zip entry ${JSON.stringify(entry.name)}`;
      try {
        for await (const event of this.document(
          zipEntryContent(data, entry, this.budget, counter, source),
          where,
          true,
        )) {
          found++;
          yield event;
        }
      } catch (err) {
        // Another file beside the report (a readme, an empty file) is skipped, not fatal.
        const code = err instanceof ReportParseError ? err.code : null;
        if (code !== 'report.unsupported_format' && code !== 'report.empty') throw err;
        skipped.push(entry.name);
      }
    }
    if (found === 0)
      throw new ReportParseError(
        'report.unsupported_format',
        `${source} holds no XML or JSON report (entries: ${skipped.map((n) => JSON.stringify(n)).join(', ') || 'none'})`,
      );
  }

  async *message(data: Buffer, source: ReportSource): AsyncGenerator<ReportEvent> {
    const root = parseMime(data, this.budget.limits);
    if (findFeedbackPart(root) !== null) {
      yield {
        type: 'failure',
        source,
        report: parseFailureReportMime(root, { ...this.options.failure, limits: this.budget.limits }),
      };
      return;
    }
    let found = 0;
    for (const part of allParts(root)) {
      if (part.children.length > 0 || part.contentType.startsWith('multipart/')) continue;
      const format = candidateFormat(part);
      if (format === null) continue;
      const where = `${source} > mime part ${part.path || '1'}${part.filename ? ` ${JSON.stringify(part.filename.slice(0, 100))}` : ''}`;
      try {
        for await (const event of this.document(bufferChunks(part.body), where, false)) {
          found++;
          yield event;
        }
      } catch (err) {
        // An XML or JSON body that is not a report (an XHTML greeting, a JSON receipt) is skipped.
        if (err instanceof ReportParseError && err.code === 'report.not_a_report') continue;
        throw err;
      }
    }
    if (found === 0)
      throw new ReportParseError('report.not_a_report', `${source}: the message carries no report`);
  }
}

/** Whether a MIME leaf may hold a report, by its bytes; the declared type only rules out HTML. */
function candidateFormat(part: MimePart): SniffedFormat | null {
  const format = sniffFormat(part.body.subarray(0, SNIFF_BYTES));
  if (format === 'gzip' || format === 'zip' || format === 'json') return format;
  if (format === 'xml' && part.contentType !== 'text/html') return format;
  return null;
}

/**
 * Reads every report in `input` and yields their events: for aggregate reports a header, record
 * batches and an end (with totals); for TLS and failure reports one event each.
 */
export async function* readReports(
  input: ReportInput,
  options: ReadReportsOptions = {},
): AsyncGenerator<ReportEvent> {
  const budget = new ParseBudget(resolveLimits(options.limits), options.now);
  const reader = new Reader(budget, options);
  if (input instanceof Uint8Array) {
    const format = sniffFormat(input.subarray(0, SNIFF_BYTES));
    if (input.length > budget.limits.maxInputBytes && format !== 'xml')
      throw new ReportParseError(
        'report.too_large',
        `the input is larger than ${budget.limits.maxInputBytes} bytes`,
      );
    // An archive given whole is read where it lies: gathering its chunks again would copy it.
    if (format === 'gzip' || format === 'zip') yield* reader.container(toBuffer(input), format, 'input');
    else yield* reader.document(bufferChunks(input), 'input', false);
    return;
  }
  async function* chunks(): AsyncGenerator<Buffer> {
    for await (const chunk of input as AsyncIterable<Uint8Array>) yield toBuffer(chunk);
  }
  yield* reader.document(chunks(), 'input', false);
}
