/**
 * DMARC aggregate XML, streamed through saxes: records are built as their `</record>` closes and
 * handed out in batches (one batch per input chunk), never accumulated, so memory stays flat for
 * reports of any length. RFC 7489 Appendix C and RFC 9990 (the `dmarc-2.0` namespace) are read by
 * local element name, so prefixed and namespaced roots parse alike.
 *
 * Strict: DOCTYPE (hence ENTITY, XXE and billion laughs) is refused at once; element depth, text
 * per element, characters per record and the record count are bounded, checked after every chunk
 * so saxes never buffers more than a chunk beyond a limit. Lenient: unknown elements and mixed
 * content are skipped, values are trimmed and lower-cased, float timestamps floored, missing
 * optional fields are null, and whatever follows `</feedback>` (or wraps it, as in reports
 * inside an unclosed `<xs:schema>`) is ignored.
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { buildHeader, buildRecord } from './aggregate-build.ts';
import { applyField, type Drafts, newDrafts, newRecord, type RecordDraft } from './aggregate-drafts.ts';
import {
  C_AUTH_DKIM,
  C_AUTH_SPF,
  C_FEEDBACK,
  C_IGNORE,
  C_META,
  C_OUTSIDE,
  C_POLICY,
  C_REASON,
  C_RECORD,
  CHILD_MAPS,
  F_FIRST,
  localName,
} from './aggregate-schema.ts';
import type { AggregateRecord, AggregateReportHeader, AggregateStats } from './aggregate-types.ts';
import { ReportParseError } from './errors.ts';
import type { ParseBudget } from './limits.ts';
import { decodeXml } from './xml-text.ts';

export type AggregateEvent =
  /** Once report_metadata and policy_published are known (before the records, in real reports). */
  | { type: 'aggregate-header'; header: AggregateReportHeader }
  | { type: 'aggregate-records'; records: AggregateRecord[] }
  | { type: 'aggregate-end'; header: AggregateReportHeader; stats: AggregateStats };

export const RFC9990_NAMESPACE = 'urn:ietf:params:xml:ns:dmarc-2.0';

const WRITE_CHARS = 64 * 1024;
const MAX_WARNINGS = 50;
/** Records held back while the header is still incomplete (out-of-order documents). */
const MAX_PENDING_RECORDS = 10_000;
/** How deep a wrapper may hold `<feedback>` (ikea's unclosed `<xs:schema>` is one level). */
const MAX_WRAPPER_DEPTH = 2;

/**
 * The push side: feed text with `write`, then `end`; `take` drains the events produced so far.
 * Exposed for callers that drive their own I/O; `parseAggregateXml` is the usual entry point.
 */
export class AggregateXmlParser {
  readonly #budget: ParseBudget;
  readonly #what: string;
  readonly #parser: SaxesParser<{ xmlns: false; position: true }>;
  readonly #stack: number[] = [C_OUTSIDE];
  readonly #events: AggregateEvent[] = [];
  #batch: AggregateRecord[] = [];
  #pending: AggregateRecord[] = [];
  #header: AggregateReportHeader | null = null;
  readonly #drafts: Drafts = newDrafts();
  #metaClosed = false;
  #policyClosed = false;
  #recordStart = 0;
  #text = '';
  #capturing = false;
  /**
   * The text handler, attached only while a field is open (#capture): without one saxes does not
   * even slice the text, and most text in a report is the whitespace between tags.
   */
  readonly #onText = (text: string): void => {
    this.#text += text;
  };
  #lastMark = 0;
  #written = 0;
  #rootSeen: string | null = null;
  #feedbackSeen = false;
  #done = false;
  #stats: AggregateStats = {
    recordCount: 0,
    messageCount: 0,
    skippedRecords: 0,
    warnings: [],
    warningCount: 0,
  };

  constructor(budget: ParseBudget, what: string) {
    this.#budget = budget;
    this.#what = what;
    const parser = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
    this.#parser = parser;
    parser.on('doctype', () => {
      if (this.#done) return;
      throw new ReportParseError(
        'report.doctype_forbidden',
        `${what}: a DOCTYPE at line ${parser.line} (ENTITY declarations and external entities are refused)`,
      );
    });
    parser.on('error', (err) => {
      if (this.#done) return;
      throw new ReportParseError('report.malformed_xml', `${what}: ${err.message}`);
    });
    parser.on('opentag', (tag) => {
      if (!this.#done) this.#open(tag);
    });
    parser.on('closetag', (tag) => {
      if (!this.#done) this.#close(tag);
    });
    parser.on('cdata', (text) => {
      if (this.#capturing) this.#text += text;
    });
  }

  #capture(on: boolean): void {
    if (on === this.#capturing) return;
    this.#capturing = on;
    if (on) this.#parser.on('text', this.#onText);
    else this.#parser.off('text');
  }

  get done(): boolean {
    return this.#done;
  }

  write(text: string): void {
    for (let at = 0; at < text.length && !this.#done; at += WRITE_CHARS) {
      const piece = at === 0 && text.length <= WRITE_CHARS ? text : text.slice(at, at + WRITE_CHARS);
      this.#parser.write(piece);
      this.#written += piece.length;
      this.#checkSpans();
    }
    this.#flush();
  }

  /** The input ended: a document cut short, or one without `<feedback>`, is refused here. */
  end(): void {
    if (!this.#done) {
      if (this.#feedbackSeen)
        throw new ReportParseError(
          'report.malformed_xml',
          `${this.#what}: the document ends inside <feedback> (line ${this.#parser.line}); the report is incomplete`,
        );
      this.#parser.close();
      throw new ReportParseError(
        'report.not_a_report',
        this.#rootSeen === null
          ? `${this.#what}: no XML element found`
          : `${this.#what}: the root element <${this.#rootSeen}> is not a DMARC aggregate <feedback>`,
      );
    }
  }

  take(): AggregateEvent[] {
    return this.#events.splice(0, this.#events.length);
  }

  #checkSpans(): void {
    // saxes' own position is only right inside its event handlers; between writes count here.
    const position = this.#written;
    const { maxTextChars, maxRecordChars } = this.#budget.limits;
    if (position - this.#lastMark > maxTextChars)
      throw new ReportParseError(
        'report.too_large',
        `${this.#what}: more than ${maxTextChars} characters in one element's text (or tag) near line ${this.#parser.line}`,
      );
    if (this.#drafts.record !== null && position - this.#recordStart > maxRecordChars)
      throw new ReportParseError(
        'report.too_large',
        `${this.#what}: record ${this.#stats.recordCount + this.#stats.skippedRecords + 1} is longer than ${maxRecordChars} characters`,
      );
  }

  #warn(message: string): void {
    this.#stats.warningCount++;
    if (this.#stats.warnings.length < MAX_WARNINGS) this.#stats.warnings.push(message);
  }

  #open(tag: SaxesTagPlain): void {
    const stack = this.#stack;
    this.#lastMark = this.#parser.position;
    if (stack.length > this.#budget.limits.maxXmlDepth)
      throw new ReportParseError(
        'report.too_deep',
        `${this.#what}: elements nest deeper than ${this.#budget.limits.maxXmlDepth} at line ${this.#parser.line}`,
      );
    const parent = stack[stack.length - 1] as number;
    let context = C_IGNORE;
    if (parent === C_OUTSIDE) {
      const name = localName(tag.name);
      this.#rootSeen ??= tag.name;
      if (name === 'feedback') {
        context = C_FEEDBACK;
        this.#feedbackSeen = true;
        this.#drafts.meta.format = this.#isRfc9990(tag) ? 'rfc9990' : 'rfc7489';
      } else if (stack.length <= MAX_WRAPPER_DEPTH) context = C_OUTSIDE;
    } else if (parent < F_FIRST && parent !== C_IGNORE) {
      const table = CHILD_MAPS[parent] as ReadonlyMap<string, number>;
      const name = tag.name.includes(':') ? localName(tag.name) : tag.name;
      context = table.get(name) ?? table.get(name.toLowerCase()) ?? C_IGNORE;
    }
    stack.push(context);
    if (context >= F_FIRST) {
      this.#capture(true);
      this.#text = '';
      return;
    }
    this.#capture(false);
    switch (context) {
      case C_RECORD:
        this.#drafts.record = newRecord();
        this.#recordStart = this.#parser.position;
        break;
      case C_AUTH_DKIM:
        this.#drafts.dkim = { domain: null, selector: null, result: null, humanResult: null };
        break;
      case C_AUTH_SPF:
        this.#drafts.spf = { domain: null, scope: null, result: null, humanResult: null };
        break;
      case C_REASON:
        this.#drafts.reason = { type: null, comment: null };
        break;
    }
  }

  #isRfc9990(tag: SaxesTagPlain): boolean {
    const colon = tag.name.indexOf(':');
    const attribute = colon === -1 ? 'xmlns' : `xmlns:${tag.name.slice(0, colon)}`;
    return tag.attributes[attribute] === RFC9990_NAMESPACE;
  }

  #close(_tag: SaxesTagPlain): void {
    const stack = this.#stack;
    this.#lastMark = this.#parser.position;
    const context = stack.pop() as number;
    this.#capture(false);
    if (context >= F_FIRST) {
      if (this.#text.length > this.#budget.limits.maxTextChars)
        throw new ReportParseError('report.too_large', `${this.#what}: an element's text is too long`);
      applyField(this.#drafts, context, this.#text);
      this.#text = '';
      return;
    }
    switch (context) {
      case C_FEEDBACK:
        this.#finishDocument();
        break;
      case C_META:
        this.#metaClosed = true;
        this.#maybeHeader();
        break;
      case C_POLICY:
        this.#policyClosed = true;
        this.#maybeHeader();
        break;
      case C_RECORD:
        this.#finishRecord();
        break;
      case C_AUTH_DKIM:
        if (
          this.#drafts.record &&
          this.#drafts.dkim &&
          this.#drafts.record.dkimResults.length < this.#budget.limits.maxAuthResultsPerRecord
        )
          this.#drafts.record.dkimResults.push(this.#drafts.dkim);
        this.#drafts.dkim = null;
        break;
      case C_AUTH_SPF:
        if (
          this.#drafts.record &&
          this.#drafts.spf &&
          this.#drafts.record.spfResults.length < this.#budget.limits.maxAuthResultsPerRecord
        )
          this.#drafts.record.spfResults.push(this.#drafts.spf);
        this.#drafts.spf = null;
        break;
      case C_REASON:
        if (
          this.#drafts.record &&
          this.#drafts.reason &&
          this.#drafts.record.reasons.length < this.#budget.limits.maxAuthResultsPerRecord
        )
          this.#drafts.record.reasons.push(this.#drafts.reason);
        this.#drafts.reason = null;
        break;
    }
  }

  #finishRecord(): void {
    const draft = this.#drafts.record as RecordDraft;
    this.#drafts.record = null;
    const stats = this.#stats;
    const ordinal = stats.recordCount + stats.skippedRecords + 1;
    const record = buildRecord(draft, ordinal, (message) => this.#warn(message));
    if (record === null) {
      stats.skippedRecords++;
      return;
    }
    stats.recordCount++;
    stats.messageCount += record.count;
    if (stats.recordCount > this.#budget.limits.maxRecords)
      throw new ReportParseError(
        'report.too_many_records',
        `${this.#what}: more than ${this.#budget.limits.maxRecords} records`,
      );
    if (this.#header !== null) this.#batch.push(record);
    else {
      this.#pending.push(record);
      if (this.#pending.length > MAX_PENDING_RECORDS)
        throw new ReportParseError(
          'report.missing_field',
          `${this.#what}: no complete report_metadata and policy_published before record ${MAX_PENDING_RECORDS}`,
        );
    }
  }

  #maybeHeader(): void {
    if (this.#header !== null || !this.#metaClosed || !this.#policyClosed) return;
    this.#header = buildHeader(this.#drafts.meta, this.#what, (message) => this.#warn(message));
    this.#events.push({ type: 'aggregate-header', header: this.#header });
    if (this.#pending.length > 0) {
      this.#batch = this.#pending.concat(this.#batch);
      this.#pending = [];
    }
  }

  #finishDocument(): void {
    // report_metadata or policy_published never closed: build (and so validate) what we have.
    if (this.#header === null) {
      if (!this.#metaClosed)
        throw new ReportParseError('report.missing_field', `${this.#what}: report_metadata is missing`);
      if (!this.#policyClosed)
        throw new ReportParseError('report.missing_field', `${this.#what}: policy_published is missing`);
    }
    this.#flush();
    this.#done = true;
    this.#events.push({
      type: 'aggregate-end',
      header: this.#header as AggregateReportHeader,
      stats: this.#stats,
    });
  }

  #flush(): void {
    if (this.#header !== null && this.#batch.length > 0) {
      this.#events.push({ type: 'aggregate-records', records: this.#batch });
      this.#batch = [];
    }
  }
}

/**
 * Parses one aggregate XML document from byte chunks, yielding the header, record batches (one
 * per input chunk) and the end with its statistics. Stops reading at `</feedback>`.
 */
export async function* parseAggregateXml(
  chunks: AsyncIterable<Uint8Array>,
  budget: ParseBudget,
  what: string,
): AsyncGenerator<AggregateEvent> {
  const parser = new AggregateXmlParser(budget, what);
  let first = true;
  const iterator = chunks[Symbol.asyncIterator]();
  // No `return` here: leaving the decode loop early must not close the input we still drain.
  const source: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({ next: () => iterator.next() }),
  };
  for await (let text of decodeXml(source)) {
    budget.checkDeadline();
    if (first) {
      // Whitespace before the XML declaration is an error to saxes and harmless to us.
      text = text.trimStart();
      if (text === '') continue;
      first = false;
    }
    parser.write(text);
    yield* parser.take();
    if (parser.done) break;
  }
  if (!parser.done) parser.end();
  // Whatever follows </feedback> is ignored, but read to the end (within the byte limits), so a
  // gzip or zip container still checks its CRC and length.
  try {
    while (!(await iterator.next()).done) budget.checkDeadline();
  } finally {
    await iterator.return?.();
  }
}
