/**
 * Aggregate records into the rows of `dmarc_report_rows`, as COPY text, and what the report teaches
 * monitoring, both computed while the records stream past (issue 6 §3, §4). Nothing here holds a
 * report's records: each batch becomes text and is dropped, and the lessons are running maps keyed
 * by source IP and selector.
 *
 * This module is light on purpose (it imports @mailwarden/reports and nothing that touches the
 * database), so the worker's parser thread loads it through `@mailwarden/monitoring/report-rows`
 * and hands over bytes instead of record objects, whose structured clone costs more than parsing
 * them. The COPY text is written into byte buffers a few KiB at a time, never built as one large
 * string: large strings are allocated straight into V8's old generation, and a report's worth of
 * them makes the heap (and the RSS) grow with the report until a full GC.
 */
import type {
  AggregateRecord,
  AggregateReportHeader,
  AggregateStats,
  DayWeight,
  DkimAuthResult,
  FailureReport,
  PolicyOverrideReason,
  ReportEvent,
  ReportSource,
  SpfAuthResult,
  TlsReport,
} from '@mailwarden/reports';
import { ownString, recordAlignment, reportDays, splitCount } from '@mailwarden/reports';
import { copyField, jsonString } from './copy-text.ts';

/**
 * The columns of one staged row, in the order `encodeRecords` writes them. The tenant, report
 * and domain ids are the same for every row of a report and are added when the rows move from
 * the stage into `dmarc_report_rows` (report-row-stage.ts).
 */
export const stagedRowColumns = [
  'day',
  'source_ip',
  'count',
  'disposition',
  'dkim_evaluated',
  'spf_evaluated',
  'dkim_aligned',
  'spf_aligned',
  'header_from',
  'envelope_from',
  'reasons',
  'dkim_auth',
  'spf_auth',
] as const;

/**
 * A source that failed DMARC for at least this many messages in one report, and was never seen in
 * an earlier report of the domain, raises `dmarc.unknown_source` (issue 6 §4): someone new sends as
 * the domain — a forgotten ESP, or a spoofer.
 */
export const unknownSourceMinMessages = 100;
/** Monitoring takes at most this many selectors and sending IPs from reports per domain. */
export const learntSelectorsMax = 50;
export const learntSendingIpsMax = 256;
const SELECTOR_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** What one aggregate report teaches monitoring, once its last record is read. */
export interface ReportLearning {
  /** DKIM selectors signing for the policy domain (or a subdomain of it). */
  selectors: string[];
  /** Sources whose mail passed DMARC aligned: the domain's real senders, blocklist subjects. */
  ips: string[];
  /** Sources that failed DMARC for at least `unknownSourceMinMessages` messages, with the count. */
  failing: [ip: string, messages: number][];
}

/** Running lessons of one report: sets capped as monitoring caps them, failures per source. */
export class ReportLearner {
  readonly #policyDomain: string;
  readonly #selectors = new Set<string>();
  readonly #ips = new Set<string>();
  readonly #failing = new Map<string, number>();

  constructor(policyDomain: string) {
    this.#policyDomain = policyDomain.toLowerCase();
  }

  /** Source IPs are canonicalIp's, which own their text; selectors are copied when kept. */
  learn(record: AggregateRecord, aligned: boolean): void {
    const ip = record.sourceIp;
    if (!aligned && ip !== null) this.#failing.set(ip, (this.#failing.get(ip) ?? 0) + record.count);
    for (const dkim of record.authResults.dkim) {
      if (this.#selectors.size >= learntSelectorsMax) break;
      const selector = dkim.selector?.toLowerCase();
      const domain = dkim.domain?.toLowerCase();
      if (!selector || !SELECTOR_RE.test(selector) || this.#selectors.has(selector)) continue;
      // Only signatures of the domain itself (or a subdomain): a third party's selector is theirs.
      if (domain === this.#policyDomain || domain?.endsWith(`.${this.#policyDomain}`))
        this.#selectors.add(ownString(selector));
    }
    if (aligned && ip !== null && this.#ips.size < learntSendingIpsMax) this.#ips.add(ip);
  }

  summary(): ReportLearning {
    const failing: [string, number][] = [];
    for (const entry of this.#failing) if (entry[1] >= unknownSourceMinMessages) failing.push(entry);
    return { selectors: [...this.#selectors], ips: [...this.#ips], failing };
  }
}

// The jsonb columns: JSON built from jsonString literals, which are COPY-escaped already (the
// keys and punctuation need no escaping), so these go into the line as they are.
function reasonsJson(reasons: readonly PolicyOverrideReason[]): string {
  if (reasons.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < reasons.length; i++) {
    const r = reasons[i] as PolicyOverrideReason;
    out += `${i === 0 ? '' : ','}{"type":${jsonString(r.type)},"comment":${jsonString(r.comment)}}`;
  }
  return `${out}]`;
}

function dkimJson(results: readonly DkimAuthResult[]): string {
  if (results.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < results.length; i++) {
    const r = results[i] as DkimAuthResult;
    out += `${i === 0 ? '' : ','}{"domain":${jsonString(r.domain)},"selector":${jsonString(r.selector)},"result":${jsonString(r.result)},"humanResult":${jsonString(r.humanResult)}}`;
  }
  return `${out}]`;
}

function spfJson(results: readonly SpfAuthResult[]): string {
  if (results.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < results.length; i++) {
    const r = results[i] as SpfAuthResult;
    out += `${i === 0 ? '' : ','}{"domain":${jsonString(r.domain)},"scope":${jsonString(r.scope)},"result":${jsonString(r.result)},"humanResult":${jsonString(r.humanResult)}}`;
  }
  return `${out}]`;
}

/** COPY text is gathered as a string up to this many characters, then written out as UTF-8. */
const PENDING_CHARS = 16 * 1024;
const INITIAL_BUFFER_BYTES = 512 * 1024;

/** COPY text lines in a byte buffer of their own (its ArrayBuffer can be transferred whole). */
export class CopyTextBuffer {
  #buffer = Buffer.allocUnsafeSlow(INITIAL_BUFFER_BYTES);
  #used = 0;
  #pending = '';
  rows = 0;

  /** Bytes held (the pending text counted at one byte a character). */
  get size(): number {
    return this.#used + this.#pending.length;
  }

  append(line: string): void {
    this.#pending += line;
    if (this.#pending.length >= PENDING_CHARS) this.#write();
  }

  /** The bytes so far, and a fresh buffer for what comes next. */
  take(): Uint8Array<ArrayBuffer> {
    this.#write();
    const out = this.#buffer.subarray(0, this.#used);
    this.#buffer = Buffer.allocUnsafeSlow(INITIAL_BUFFER_BYTES);
    this.#used = 0;
    this.rows = 0;
    return new Uint8Array(out.buffer as ArrayBuffer, 0, out.length);
  }

  #write(): void {
    const text = this.#pending;
    if (text === '') return;
    this.#pending = '';
    // UTF-8 takes at most three bytes per UTF-16 code unit.
    const needed = this.#used + text.length * 3;
    if (needed > this.#buffer.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(needed, this.#buffer.length * 2));
      this.#buffer.copy(bigger, 0, 0, this.#used);
      this.#buffer = bigger;
    }
    this.#used += this.#buffer.write(text, this.#used, 'utf8');
  }
}

/**
 * One aggregate report's rows: each record on the UTC days its report counts on (daily.ts: whole
 * on one day for reports up to 25 hours, else split by largest remainder), with its alignment
 * (RFC 7489 §3.1, the published adkim/aspf), encoded as COPY text lines of `stagedRowColumns`.
 * A record whose share of a day is 0 has no row on that day, so a record of count 0 has none.
 */
export class ReportRowEncoder {
  readonly learner: ReportLearner;
  readonly #days: DayWeight[];
  readonly #alignment: {
    adkim: AggregateReportHeader['policyPublished']['adkim'];
    aspf: AggregateReportHeader['policyPublished']['aspf'];
  };

  constructor(header: AggregateReportHeader) {
    this.#days = reportDays(header.dateRange);
    this.#alignment = { adkim: header.policyPublished.adkim, aspf: header.policyPublished.aspf };
    this.learner = new ReportLearner(header.policyPublished.domain);
  }

  /** Appends the COPY text of the records' rows (each line ends in `\n`) to `out`. */
  encode(records: readonly AggregateRecord[], out: CopyTextBuffer): void {
    const days = this.#days;
    const single = days.length === 1 ? (days[0] as DayWeight).day : null;
    for (const record of records) {
      if (record.count === 0) continue;
      const alignment = recordAlignment(record, this.#alignment);
      this.learner.learn(record, alignment.dmarc);
      const evaluated = record.policyEvaluated;
      const ip = record.sourceIp ?? '\\N';
      const rest = `${copyField(evaluated.disposition)}\t${copyField(evaluated.dkim)}\t${copyField(evaluated.spf)}\t${alignment.dkim ? 't' : 'f'}\t${alignment.spf ? 't' : 'f'}\t${copyField(record.identifiers.headerFrom)}\t${copyField(record.identifiers.envelopeFrom)}\t${reasonsJson(evaluated.reasons)}\t${dkimJson(record.authResults.dkim)}\t${spfJson(record.authResults.spf)}\n`;
      if (single !== null) {
        out.append(`${single}\t${ip}\t${record.count}\t${rest}`);
        out.rows++;
        continue;
      }
      for (const share of splitCount(record.count, days)) {
        if (share.count === 0) continue;
        out.append(`${share.day}\t${ip}\t${share.count}\t${rest}`);
        out.rows++;
      }
    }
  }
}

/** `readReports` events with aggregate records turned into COPY text and lessons. */
export type PreparedReportEvent =
  | { type: 'aggregate-header'; source: ReportSource; header: AggregateReportHeader }
  /** Rows of the report whose header came last, as COPY text (UTF-8) of `stagedRowColumns`. */
  | { type: 'aggregate-rows'; rows: number; data: Uint8Array<ArrayBuffer> }
  | {
      type: 'aggregate-end';
      source: ReportSource;
      header: AggregateReportHeader;
      stats: AggregateStats;
      learning: ReportLearning;
    }
  | { type: 'tls'; source: ReportSource; report: TlsReport }
  | { type: 'failure'; source: ReportSource; report: FailureReport };

/** Rows gathered into one `aggregate-rows` event: a few hundred KiB of text. */
export const rowsPerEvent = 1_000;
/** An event is also cut at this many bytes, whatever its row count (long auth results). */
const BYTES_PER_EVENT = 1024 * 1024;

/**
 * Turns a stream of report events into prepared events: headers, TLS and failure reports pass
 * through; record batches become `aggregate-rows` of about `rowsPerEvent` rows; the end carries
 * what the report taught.
 */
export async function* prepareReportRows(
  events: AsyncIterable<ReportEvent>,
  options: { rowsPerEvent?: number } = {},
): AsyncGenerator<PreparedReportEvent> {
  const limit = options.rowsPerEvent ?? rowsPerEvent;
  let encoder: ReportRowEncoder | null = null;
  const out = new CopyTextBuffer();
  const take = (): PreparedReportEvent => {
    const rows = out.rows;
    return { type: 'aggregate-rows', rows, data: out.take() };
  };
  for await (const event of events) {
    switch (event.type) {
      case 'aggregate-header':
        encoder = new ReportRowEncoder(event.header);
        yield event;
        break;
      case 'aggregate-records':
        if (encoder === null) break;
        encoder.encode(event.records, out);
        if (out.rows >= limit || out.size >= BYTES_PER_EVENT) yield take();
        break;
      case 'aggregate-end': {
        if (out.rows > 0) yield take();
        const learning = encoder?.learner.summary() ?? { selectors: [], ips: [], failing: [] };
        encoder = null;
        yield { ...event, learning };
        break;
      }
      default:
        yield event;
    }
  }
}
