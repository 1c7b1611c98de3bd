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
import type {
  AggregateRecord,
  AggregateReportHeader,
  AggregateStats,
  DkimAuthResult,
  PolicyOverrideReason,
  SpfAuthResult,
} from './aggregate-types.ts';
import { ReportParseError } from './errors.ts';
import type { ParseBudget } from './limits.ts';
import { canonicalIp, clean, domainName, lower, nonNegativeInteger, reportTime } from './normalize.ts';
import { decodeXml } from './xml-text.ts';

export type AggregateEvent =
  /** Once report_metadata and policy_published are known (before the records, in real reports). */
  | { type: 'aggregate-header'; header: AggregateReportHeader }
  | { type: 'aggregate-records'; records: AggregateRecord[] }
  | { type: 'aggregate-end'; header: AggregateReportHeader; stats: AggregateStats };

export const RFC9990_NAMESPACE = 'urn:ietf:params:xml:ns:dmarc-2.0';

const WRITE_CHARS = 64 * 1024;
const MAX_WARNINGS = 50;
const MAX_METADATA_ERRORS = 100;
/** Records held back while the header is still incomplete (out-of-order documents). */
const MAX_PENDING_RECORDS = 10_000;
/** How deep a wrapper may hold `<feedback>` (ikea's unclosed `<xs:schema>` is one level). */
const MAX_WRAPPER_DEPTH = 2;

// Contexts: what the innermost open element is. Fields (>= F_FIRST) capture their text.
const C_OUTSIDE = 0;
const C_FEEDBACK = 1;
const C_META = 2;
const C_RANGE = 3;
const C_POLICY = 4;
const C_RECORD = 5;
const C_ROW = 6;
const C_EVAL = 7;
const C_REASON = 8;
const C_IDENT = 9;
const C_AUTH = 10;
const C_AUTH_DKIM = 11;
const C_AUTH_SPF = 12;
const C_IGNORE = 13;

const F_FIRST = 100;
const F_VERSION = 100;
const F_ORG = 101;
const F_EMAIL = 102;
const F_EXTRA = 103;
const F_REPORT_ID = 104;
const F_ERROR = 105;
const F_GENERATOR = 106;
const F_BEGIN = 107;
const F_END = 108;
const F_DOMAIN = 109;
const F_ADKIM = 110;
const F_ASPF = 111;
const F_P = 112;
const F_SP = 113;
const F_PCT = 114;
const F_NP = 115;
const F_FO = 116;
const F_TESTING = 117;
const F_DISCOVERY = 118;
const F_SOURCE_IP = 119;
const F_COUNT = 120;
const F_DISPOSITION = 121;
const F_EVAL_DKIM = 122;
const F_EVAL_SPF = 123;
const F_REASON_TYPE = 124;
const F_REASON_COMMENT = 125;
const F_HEADER_FROM = 126;
const F_ENVELOPE_FROM = 127;
const F_ENVELOPE_TO = 128;
const F_AUTH_DOMAIN = 129;
const F_AUTH_SELECTOR = 130;
const F_AUTH_RESULT = 131;
const F_AUTH_SCOPE = 132;
const F_AUTH_HUMAN = 133;

type ChildTable = Readonly<Record<string, number>>;

/** For each container context, the contexts or fields of its known children. */
const CHILDREN: ChildTable[] = [];
CHILDREN[C_FEEDBACK] = {
  version: F_VERSION,
  report_metadata: C_META,
  policy_published: C_POLICY,
  record: C_RECORD,
};
CHILDREN[C_META] = {
  org_name: F_ORG,
  email: F_EMAIL,
  extra_contact_info: F_EXTRA,
  report_id: F_REPORT_ID,
  error: F_ERROR,
  generator: F_GENERATOR,
  date_range: C_RANGE,
};
CHILDREN[C_RANGE] = { begin: F_BEGIN, end: F_END };
CHILDREN[C_POLICY] = {
  domain: F_DOMAIN,
  adkim: F_ADKIM,
  aspf: F_ASPF,
  p: F_P,
  sp: F_SP,
  pct: F_PCT,
  np: F_NP,
  fo: F_FO,
  testing: F_TESTING,
  discovery_method: F_DISCOVERY,
};
CHILDREN[C_RECORD] = { row: C_ROW, identifiers: C_IDENT, auth_results: C_AUTH };
CHILDREN[C_ROW] = { source_ip: F_SOURCE_IP, count: F_COUNT, policy_evaluated: C_EVAL };
CHILDREN[C_EVAL] = { disposition: F_DISPOSITION, dkim: F_EVAL_DKIM, spf: F_EVAL_SPF, reason: C_REASON };
CHILDREN[C_REASON] = { type: F_REASON_TYPE, comment: F_REASON_COMMENT };
CHILDREN[C_IDENT] = {
  header_from: F_HEADER_FROM,
  envelope_from: F_ENVELOPE_FROM,
  envelope_to: F_ENVELOPE_TO,
};
CHILDREN[C_AUTH] = { dkim: C_AUTH_DKIM, spf: C_AUTH_SPF };
CHILDREN[C_AUTH_DKIM] = {
  domain: F_AUTH_DOMAIN,
  selector: F_AUTH_SELECTOR,
  result: F_AUTH_RESULT,
  human_result: F_AUTH_HUMAN,
};
CHILDREN[C_AUTH_SPF] = {
  domain: F_AUTH_DOMAIN,
  scope: F_AUTH_SCOPE,
  result: F_AUTH_RESULT,
  human_result: F_AUTH_HUMAN,
};

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

interface MetaDraft {
  format: 'rfc7489' | 'rfc9990';
  version: string | null;
  orgName: string | null;
  email: string | null;
  extraContactInfo: string | null;
  reportId: string | null;
  begin: string | null;
  end: string | null;
  errors: string[];
  generator: string | null;
  domain: string | null;
  adkim: string | null;
  aspf: string | null;
  p: string | null;
  sp: string | null;
  pct: string | null;
  np: string | null;
  fo: string | null;
  testing: string | null;
  discoveryMethod: string | null;
}

interface RecordDraft {
  sourceIp: string | null;
  count: string | null;
  disposition: string | null;
  dkim: string | null;
  spf: string | null;
  reasons: PolicyOverrideReason[];
  headerFrom: string | null;
  envelopeFrom: string | null;
  envelopeTo: string | null;
  dkimResults: DkimAuthResult[];
  spfResults: SpfAuthResult[];
}

function newRecord(): RecordDraft {
  return {
    sourceIp: null,
    count: null,
    disposition: null,
    dkim: null,
    spf: null,
    reasons: [],
    headerFrom: null,
    envelopeFrom: null,
    envelopeTo: null,
    dkimResults: [],
    spfResults: [],
  };
}

function alignmentMode(text: string | null): 'r' | 's' | null {
  const value = lower(text);
  if (value === 'r' || value === 'relaxed') return 'r';
  if (value === 's' || value === 'strict') return 's';
  return null;
}

function yesNo(text: string | null): 'y' | 'n' | null {
  const value = lower(text);
  if (value === 'y' || value === 'yes' || value === 'true') return 'y';
  if (value === 'n' || value === 'no' || value === 'false') return 'n';
  return null;
}

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
  #meta: MetaDraft = {
    format: 'rfc7489',
    version: null,
    orgName: null,
    email: null,
    extraContactInfo: null,
    reportId: null,
    begin: null,
    end: null,
    errors: [],
    generator: null,
    domain: null,
    adkim: null,
    aspf: null,
    p: null,
    sp: null,
    pct: null,
    np: null,
    fo: null,
    testing: null,
    discoveryMethod: null,
  };
  #metaClosed = false;
  #policyClosed = false;
  #record: RecordDraft | null = null;
  #recordStart = 0;
  #dkim: DkimAuthResult | null = null;
  #spf: SpfAuthResult | null = null;
  #reason: PolicyOverrideReason | null = null;
  #text = '';
  #capturing = false;
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
    parser.on('text', (text) => {
      if (this.#capturing) this.#text += text;
    });
    parser.on('cdata', (text) => {
      if (this.#capturing) this.#text += text;
    });
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
    if (this.#record !== null && position - this.#recordStart > maxRecordChars)
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
        this.#meta.format = this.#isRfc9990(tag) ? 'rfc9990' : 'rfc7489';
      } else if (stack.length <= MAX_WRAPPER_DEPTH) context = C_OUTSIDE;
    } else if (parent < F_FIRST && parent !== C_IGNORE) {
      const table = CHILDREN[parent] as ChildTable;
      const name = localName(tag.name);
      context = table[name] ?? table[name.toLowerCase()] ?? C_IGNORE;
    }
    stack.push(context);
    if (context >= F_FIRST) {
      this.#capturing = true;
      this.#text = '';
      return;
    }
    this.#capturing = false;
    switch (context) {
      case C_RECORD:
        this.#record = newRecord();
        this.#recordStart = this.#parser.position;
        break;
      case C_AUTH_DKIM:
        this.#dkim = { domain: null, selector: null, result: null, humanResult: null };
        break;
      case C_AUTH_SPF:
        this.#spf = { domain: null, scope: null, result: null, humanResult: null };
        break;
      case C_REASON:
        this.#reason = { type: null, comment: null };
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
    this.#capturing = false;
    if (context >= F_FIRST) {
      if (this.#text.length > this.#budget.limits.maxTextChars)
        throw new ReportParseError('report.too_large', `${this.#what}: an element's text is too long`);
      this.#field(context, this.#text);
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
          this.#record &&
          this.#dkim &&
          this.#record.dkimResults.length < this.#budget.limits.maxAuthResultsPerRecord
        )
          this.#record.dkimResults.push(this.#dkim);
        this.#dkim = null;
        break;
      case C_AUTH_SPF:
        if (
          this.#record &&
          this.#spf &&
          this.#record.spfResults.length < this.#budget.limits.maxAuthResultsPerRecord
        )
          this.#record.spfResults.push(this.#spf);
        this.#spf = null;
        break;
      case C_REASON:
        if (
          this.#record &&
          this.#reason &&
          this.#record.reasons.length < this.#budget.limits.maxAuthResultsPerRecord
        )
          this.#record.reasons.push(this.#reason);
        this.#reason = null;
        break;
    }
  }

  #field(field: number, text: string): void {
    const meta = this.#meta;
    const record = this.#record;
    switch (field) {
      case F_VERSION:
        meta.version = clean(text);
        return;
      case F_ORG:
        meta.orgName = text;
        return;
      case F_EMAIL:
        meta.email = text;
        return;
      case F_EXTRA:
        meta.extraContactInfo = text;
        return;
      case F_REPORT_ID:
        meta.reportId = text;
        return;
      case F_ERROR: {
        const error = clean(text);
        if (error !== null && meta.errors.length < MAX_METADATA_ERRORS) meta.errors.push(error);
        return;
      }
      case F_GENERATOR:
        meta.generator = text;
        return;
      case F_BEGIN:
        meta.begin = text;
        return;
      case F_END:
        meta.end = text;
        return;
      case F_DOMAIN:
        meta.domain = text;
        return;
      case F_ADKIM:
        meta.adkim = text;
        return;
      case F_ASPF:
        meta.aspf = text;
        return;
      case F_P:
        meta.p = text;
        return;
      case F_SP:
        meta.sp = text;
        return;
      case F_PCT:
        meta.pct = text;
        return;
      case F_NP:
        meta.np = text;
        return;
      case F_FO:
        meta.fo = text;
        return;
      case F_TESTING:
        meta.testing = text;
        return;
      case F_DISCOVERY:
        meta.discoveryMethod = text;
        return;
    }
    if (record === null) return;
    switch (field) {
      case F_SOURCE_IP:
        record.sourceIp = text;
        return;
      case F_COUNT:
        record.count = text;
        return;
      case F_DISPOSITION:
        record.disposition = text;
        return;
      case F_EVAL_DKIM:
        record.dkim = text;
        return;
      case F_EVAL_SPF:
        record.spf = text;
        return;
      case F_REASON_TYPE:
        if (this.#reason) this.#reason.type = lower(text);
        return;
      case F_REASON_COMMENT:
        if (this.#reason) this.#reason.comment = clean(text);
        return;
      case F_HEADER_FROM:
        record.headerFrom = text;
        return;
      case F_ENVELOPE_FROM:
        record.envelopeFrom = text;
        return;
      case F_ENVELOPE_TO:
        record.envelopeTo = text;
        return;
    }
    const auth = this.#dkim ?? this.#spf;
    if (auth === null) return;
    switch (field) {
      case F_AUTH_DOMAIN:
        auth.domain = domainName(text);
        return;
      case F_AUTH_RESULT:
        auth.result = lower(text);
        return;
      case F_AUTH_HUMAN:
        auth.humanResult = clean(text);
        return;
      case F_AUTH_SELECTOR:
        if (this.#dkim) this.#dkim.selector = lower(text);
        return;
      case F_AUTH_SCOPE:
        if (this.#spf) this.#spf.scope = lower(text);
        return;
    }
  }

  #finishRecord(): void {
    const draft = this.#record as RecordDraft;
    this.#record = null;
    const ordinal = this.#stats.recordCount + this.#stats.skippedRecords + 1;
    const ipText = clean(draft.sourceIp);
    const sourceIp = ipText === null ? null : canonicalIp(ipText);
    if (ipText !== null && sourceIp === null)
      this.#warn(`record ${ordinal}: source_ip ${JSON.stringify(ipText.slice(0, 64))} is not an IP address`);
    let count = nonNegativeInteger(draft.count);
    if (count === null) {
      if (clean(draft.count) !== null)
        this.#warn(
          `record ${ordinal}: count ${JSON.stringify(clean(draft.count)?.slice(0, 32))} is not a number`,
        );
      count = 0;
    }
    if (sourceIp === null && count === 0) {
      this.#stats.skippedRecords++;
      return;
    }
    const record: AggregateRecord = {
      sourceIp,
      count,
      policyEvaluated: {
        disposition: lower(draft.disposition),
        dkim: lower(draft.dkim),
        spf: lower(draft.spf),
        reasons: draft.reasons,
      },
      identifiers: {
        headerFrom: domainName(draft.headerFrom),
        envelopeFrom: domainName(draft.envelopeFrom),
        envelopeTo: domainName(draft.envelopeTo),
      },
      authResults: { dkim: draft.dkimResults, spf: draft.spfResults },
    };
    const stats = this.#stats;
    stats.recordCount++;
    stats.messageCount += count;
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
    this.#header = this.#buildHeader();
    this.#events.push({ type: 'aggregate-header', header: this.#header });
    if (this.#pending.length > 0) {
      this.#batch = this.#pending.concat(this.#batch);
      this.#pending = [];
    }
  }

  #buildHeader(): AggregateReportHeader {
    const meta = this.#meta;
    const what = this.#what;
    const missing = (field: string): ReportParseError =>
      new ReportParseError('report.missing_field', `${what}: ${field} is missing or empty`);
    const reportId = clean(meta.reportId);
    if (reportId === null) throw missing('report_metadata/report_id');
    if (clean(meta.begin) === null) throw missing('report_metadata/date_range/begin');
    if (clean(meta.end) === null) throw missing('report_metadata/date_range/end');
    const begin = reportTime(meta.begin);
    const end = reportTime(meta.end);
    if (begin === null)
      throw new ReportParseError(
        'report.invalid_field',
        `${what}: date_range/begin ${JSON.stringify(clean(meta.begin)?.slice(0, 40))} is not a time`,
      );
    if (end === null)
      throw new ReportParseError(
        'report.invalid_field',
        `${what}: date_range/end ${JSON.stringify(clean(meta.end)?.slice(0, 40))} is not a time`,
      );
    if (end.getTime() < begin.getTime())
      throw new ReportParseError(
        'report.invalid_field',
        `${what}: date_range ends (${end.toISOString()}) before it begins (${begin.toISOString()})`,
      );
    const domain = domainName(meta.domain);
    if (domain === null) throw missing('policy_published/domain');
    const pct = nonNegativeInteger(meta.pct);
    if (clean(meta.pct) !== null && (pct === null || pct > 100))
      this.#warn(
        `policy_published/pct ${JSON.stringify(clean(meta.pct)?.slice(0, 16))} is not 0-100; ignored`,
      );
    return {
      format: meta.format,
      version: meta.version,
      orgName: clean(meta.orgName) ?? '',
      email: clean(meta.email),
      extraContactInfo: clean(meta.extraContactInfo),
      reportId,
      dateRange: { begin, end },
      errors: meta.errors,
      generator: clean(meta.generator),
      policyPublished: {
        domain,
        adkim: alignmentMode(meta.adkim),
        aspf: alignmentMode(meta.aspf),
        p: lower(meta.p),
        sp: lower(meta.sp),
        pct: pct !== null && pct <= 100 ? pct : null,
        np: lower(meta.np),
        fo: clean(meta.fo),
        testing: yesNo(meta.testing),
        discoveryMethod: lower(meta.discoveryMethod),
      },
    };
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
