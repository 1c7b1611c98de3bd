/**
 * Every size a report parse may reach, and its deadline. Reports come from strangers, so nothing
 * is unbounded: the raw input, what gzip/zip expand to, the XML per element and per record, the
 * record count, the MIME tree and the wall clock. Defaults fit the largest real reports
 * (Google's 80 000-record days are ~50 MB of XML) with room to spare.
 */
import { ReportParseError } from './errors.ts';

export interface ReportLimits {
  /** Bytes read from the input when it is buffered (gzip, zip, MIME, JSON). */
  maxInputBytes: number;
  /** XML bytes per document, streamed (raw XML input, or what a gzip/zip entry expands to). */
  maxXmlBytes: number;
  /** Bytes of a TLS-RPT JSON document. */
  maxJsonBytes: number;
  /** Everything all archives of one input expand to, together. */
  maxExpandedBytes: number;
  /** Expanded/compressed; real reports compress 10-40x, deflate bombs ~1000x. */
  maxCompressionRatio: number;
  /** The ratio is judged only once this much came out, so tiny files with odd ratios pass. */
  ratioCheckAfterBytes: number;
  /** Entries in the central directory of a zip (directories included). */
  maxZipEntries: number;
  /** MIME parts of a message, all levels together, and how deep multiparts nest. */
  maxMimeParts: number;
  maxMimeDepth: number;
  /** XML element nesting depth. */
  maxXmlDepth: number;
  /** Characters of one element's text, an attribute or anything between two tags. */
  maxTextChars: number;
  /** Characters from `<record>` to `</record>`. */
  maxRecordChars: number;
  /** Records in one aggregate report. */
  maxRecords: number;
  /** `<dkim>`/`<spf>` auth results and `<reason>`s kept per record. */
  maxAuthResultsPerRecord: number;
  /** Policies and failure details of a TLS report, each. */
  maxTlsPolicies: number;
  maxTlsFailureDetails: number;
  /** Wall-clock budget of the whole parse. */
  deadlineMs: number;
}

export const DEFAULT_REPORT_LIMITS: Readonly<ReportLimits> = Object.freeze({
  maxInputBytes: 64 * 1024 * 1024,
  maxXmlBytes: 1024 * 1024 * 1024,
  maxJsonBytes: 16 * 1024 * 1024,
  maxExpandedBytes: 1024 * 1024 * 1024,
  maxCompressionRatio: 200,
  ratioCheckAfterBytes: 8 * 1024 * 1024,
  maxZipEntries: 16,
  maxMimeParts: 100,
  maxMimeDepth: 8,
  maxXmlDepth: 32,
  maxTextChars: 16 * 1024,
  maxRecordChars: 64 * 1024,
  maxRecords: 2_000_000,
  maxAuthResultsPerRecord: 64,
  maxTlsPolicies: 10_000,
  maxTlsFailureDetails: 10_000,
  deadlineMs: 60_000,
});

export function resolveLimits(overrides: Partial<ReportLimits> = {}): ReportLimits {
  const limits = { ...DEFAULT_REPORT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new RangeError(`report limit ${name} must be a positive number, got ${String(value)}`);
  }
  return limits;
}

/** One parse's shared counters: the deadline and the bytes all archives expanded to. */
export class ParseBudget {
  readonly limits: ReportLimits;
  readonly #deadline: number;
  readonly #now: () => number;
  expandedBytes = 0;

  constructor(limits: ReportLimits, now: () => number = performance.now.bind(performance)) {
    this.limits = limits;
    this.#now = now;
    this.#deadline = now() + limits.deadlineMs;
  }

  checkDeadline(): void {
    if (this.#now() > this.#deadline)
      throw new ReportParseError(
        'report.deadline_exceeded',
        `parsing took longer than ${this.limits.deadlineMs} ms`,
      );
  }

  /**
   * Counts `bytes` more of one archive's output against the total cap, and that archive's output
   * so far (`archiveBytes`) against its compressed size.
   */
  addExpanded(bytes: number, archiveBytes: number, compressedBytes: number, what: string): void {
    this.expandedBytes += bytes;
    const { maxExpandedBytes, maxCompressionRatio, ratioCheckAfterBytes } = this.limits;
    if (this.expandedBytes > maxExpandedBytes)
      throw new ReportParseError(
        'report.too_large',
        `${what} expands to more than ${maxExpandedBytes} bytes in total`,
      );
    if (archiveBytes > ratioCheckAfterBytes && archiveBytes > compressedBytes * maxCompressionRatio)
      throw new ReportParseError(
        'report.zip_bomb',
        `${what}: ${compressedBytes} compressed bytes expanded past ${archiveBytes} (ratio limit ${maxCompressionRatio})`,
      );
  }
}
