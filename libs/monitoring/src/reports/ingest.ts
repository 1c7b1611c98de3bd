/**
 * Turns one raw report into report rows (issue 6 §3). The whole input is read in ONE transaction:
 * readReports ends the input on any error, the transaction rolls back, and the failure is recorded
 * in a second one — so a parse that fails or is killed mid-way leaves no half-written report, and
 * a redone job finds the raw report still pending and writes everything exactly once.
 *
 * Rows are COPYed (report-row-stage.ts), prepared as COPY text while the records stream past
 * (report-rows.ts): nothing holds a report's records, and the raw bytes are read once, at their
 * size, with COPY … TO (raw-reports.ts).
 *
 * Deduplication is the unique key of dmarc_reports (tenant, org, report id, policy domain, date
 * range) and tls_reports (tenant, org, report id, date range): `insert … on conflict do nothing`.
 * A second transaction inserting the same key waits for the first and then inserts nothing, so the
 * same report sent twice at the same moment is stored once.
 */
import { type Clock, uuidv7 } from '@mailwarden/core';
import { type Database, type RawReportState, schema, type Tx, withTenant } from '@mailwarden/db';
import {
  type AggregateReportHeader,
  isReportParseError,
  type ReadReportsOptions,
  type ReportLimits,
  readReports,
  reportDays,
  type TlsReport,
} from '@mailwarden/reports';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { failureReportOptIn, storeFailureReport } from './failure-reports.ts';
import { readRawReportBytes } from './raw-reports.ts';
import {
  applyLearnt,
  type DomainIndex,
  type LearntReport,
  tlsFailureEvents,
  unknownSourceEvent,
} from './report-feedback.ts';
import { ReportRowStage, type ReportRowStageOptions } from './report-row-stage.ts';
import { type PreparedReportEvent, prepareReportRows } from './report-rows.ts';
import { transactionClient } from './tx-client.ts';

/** TLS report policies per INSERT: one statement stays a sane size. */
export const rowBatchSize = 1_000;
/** Parse attempts begun before a raw report is failed for good (it keeps killing its parser). */
export const maxParseAttempts = 5;
/** Stable code for a raw report given up on after `maxParseAttempts` unfinished parses. */
export const ingestAbortedCode = 'report.ingest_aborted';

export interface IngestOptions {
  limits?: Partial<ReportLimits>;
  /**
   * The parser: `prepareReportRows(readReports(…))` in this thread by default. The worker passes
   * one that runs it in a worker_thread with memory limits and a deadline; the events are the
   * same. It may take `bytes` over (transfer them): they are not used after this call.
   */
  readEvents?: (bytes: Uint8Array, options: ReadReportsOptions) => AsyncIterable<PreparedReportEvent>;
  /** Called between batches; throwing from it aborts the parse (tests kill a parse mid-way). */
  onBatch?: (rowsWritten: number) => void | Promise<void>;
  /** How rows are staged (tests make the stage move small batches). */
  stage?: ReportRowStageOptions;
}

/** The report parse in this thread: readReports and the row preparation. */
export function readPreparedReports(
  bytes: Uint8Array,
  options: ReadReportsOptions,
): AsyncIterable<PreparedReportEvent> {
  return prepareReportRows(readReports(bytes, options));
}

export interface IngestResult {
  rawReportId: string;
  /** `missing`: no such raw report for this tenant (a stale job). */
  state: RawReportState | 'missing';
  /** The raw report was not pending: an earlier job finished it; nothing was done. */
  alreadyDone: boolean;
  aggregateReports: number;
  tlsReports: number;
  /** Reports in the input that were already stored. */
  duplicates: number;
  quarantined: number;
  rows: number;
  /** Failure (ARF) reports stored (the tenant opted in). */
  failureReports: number;
  /** Failure reports seen and not stored: no opt-in, or about a domain the tenant does not watch. */
  failureReportsSkipped: number;
  errorCode: string | null;
  errorDetail: string | null;
  /** Outbox events the input raised (`dmarc.unknown_source`), to dispatch after the commit. */
  eventIds: string[];
}

async function domainIndex(tx: Tx): Promise<DomainIndex> {
  const { domains } = schema;
  const rows = await tx
    .select({ id: domains.id, name: domains.name })
    .from(domains)
    .where(isNull(domains.deletedAt));
  const byName = new Map(rows.map((r) => [r.name, r.id]));
  return {
    lookup(name) {
      if (!name) return null;
      // A report about a subdomain belongs to the tenant that watches (and so vouches for) a parent.
      for (let at = name; at.includes('.'); at = at.slice(at.indexOf('.') + 1)) {
        const id = byName.get(at);
        if (id) return id;
      }
      return null;
    },
  };
}

/** Inserts the report header; undefined when the same report is already stored (dedup key). */
async function insertAggregate(
  tx: Tx,
  tenantId: string,
  rawReportId: string,
  source: string,
  header: AggregateReportHeader,
  domainId: string | null,
): Promise<string | undefined> {
  const { dmarcReports } = schema;
  const [row] = await tx
    .insert(dmarcReports)
    .values({
      id: uuidv7(),
      tenantId,
      rawReportId,
      source: source.slice(0, 500),
      format: header.format,
      orgName: header.orgName,
      email: header.email,
      reportId: header.reportId,
      policyDomain: header.policyPublished.domain,
      domainId,
      dateBegin: header.dateRange.begin,
      dateEnd: header.dateRange.end,
      policyPublished: { ...header.policyPublished } as unknown as Record<string, unknown>,
      errors: header.errors,
      recordCount: 0,
      messageCount: 0,
      quarantined: domainId === null,
    })
    .onConflictDoNothing({
      target: [
        dmarcReports.tenantId,
        dmarcReports.orgName,
        dmarcReports.reportId,
        dmarcReports.policyDomain,
        dmarcReports.dateBegin,
        dmarcReports.dateEnd,
      ],
    })
    .returning({ id: dmarcReports.id });
  return row?.id;
}

function middleDay(range: { start: Date; end: Date }): string {
  const days = reportDays({ begin: range.start, end: range.end });
  // A multi-day TLS report is filed on the day holding the middle of its range.
  return days[Math.floor((days.length - 1) / 2)]?.day ?? range.start.toISOString().slice(0, 10);
}

async function insertTls(
  tx: Tx,
  tenantId: string,
  rawReportId: string,
  source: string,
  report: TlsReport,
  domains: DomainIndex,
): Promise<{ inserted: boolean; quarantined: boolean }> {
  const { tlsReports, tlsReportPolicies } = schema;
  const policies = report.policies.map((policy) => ({
    policy,
    domainId: domains.lookup(policy.policyDomain),
  }));
  const quarantined = !policies.some((p) => p.domainId !== null);
  const [row] = await tx
    .insert(tlsReports)
    .values({
      id: uuidv7(),
      tenantId,
      rawReportId,
      source: source.slice(0, 500),
      orgName: report.organizationName,
      reportId: report.reportId,
      contactInfo: report.contactInfo,
      dateBegin: report.dateRange.start,
      dateEnd: report.dateRange.end,
      successfulSessions: report.policies.reduce((n, p) => n + p.totalSuccessfulSessionCount, 0),
      failedSessions: report.policies.reduce((n, p) => n + p.totalFailureSessionCount, 0),
      quarantined,
    })
    .onConflictDoNothing({
      target: [
        tlsReports.tenantId,
        tlsReports.orgName,
        tlsReports.reportId,
        tlsReports.dateBegin,
        tlsReports.dateEnd,
      ],
    })
    .returning({ id: tlsReports.id });
  if (!row) return { inserted: false, quarantined };
  const day = middleDay(report.dateRange);
  // maxTlsPolicies bounds this; chunked anyway so one insert stays a sane size.
  for (let at = 0; at < policies.length; at += rowBatchSize) {
    await tx.insert(tlsReportPolicies).values(
      policies.slice(at, at + rowBatchSize).map(({ policy, domainId }) => ({
        tenantId,
        reportId: row.id,
        domainId,
        day,
        policyType: policy.policyType,
        policyDomain: policy.policyDomain,
        policyStrings: policy.policyString,
        mxHosts: policy.mxHost,
        successfulSessions: policy.totalSuccessfulSessionCount,
        failedSessions: policy.totalFailureSessionCount,
        failureDetails: policy.failureDetails,
      })),
    );
  }
  return { inserted: true, quarantined };
}

function emptyResult(rawReportId: string, state: IngestResult['state']): IngestResult {
  return {
    rawReportId,
    state,
    alreadyDone: false,
    aggregateReports: 0,
    tlsReports: 0,
    duplicates: 0,
    quarantined: 0,
    rows: 0,
    failureReports: 0,
    failureReportsSkipped: 0,
    errorCode: null,
    errorDetail: null,
    eventIds: [],
  };
}

/**
 * Parses a pending raw report into report rows. Idempotent: a raw report that is no longer pending
 * is left alone. A `ReportParseError` is recorded (`failed`, with its code) and returned, not
 * thrown; any other error (the database went away) is thrown so the job is retried.
 */
export async function ingestRawReport(
  deps: { db: Database; clock: Clock },
  tenantId: string,
  rawReportId: string,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const { db, clock } = deps;
  const { rawReports, dmarcReports } = schema;

  // Counted in its own transaction, so a parse that kills the process still counts.
  const [counted] = await withTenant(db, tenantId, (tx) =>
    tx
      .update(rawReports)
      .set({ attempts: sql`${rawReports.attempts} + 1` })
      .where(and(eq(rawReports.id, rawReportId), eq(rawReports.parseState, 'pending')))
      .returning({ attempts: rawReports.attempts }),
  );
  if (!counted) {
    const [row] = await withTenant(db, tenantId, (tx) =>
      tx.select({ state: rawReports.parseState }).from(rawReports).where(eq(rawReports.id, rawReportId)),
    );
    if (!row) return emptyResult(rawReportId, 'missing');
    return { ...emptyResult(rawReportId, row.state), alreadyDone: true };
  }
  if (counted.attempts > maxParseAttempts) {
    return recordFailure(
      deps,
      tenantId,
      rawReportId,
      ingestAbortedCode,
      `${maxParseAttempts} parse attempts did not finish`,
    );
  }

  try {
    return await withTenant(db, tenantId, async (tx) => {
      // Locks the raw report: a second job for it waits here, then finds it no longer pending.
      const [raw] = await tx
        .select({ state: rawReports.parseState })
        .from(rawReports)
        .where(eq(rawReports.id, rawReportId))
        .for('update');
      if (!raw) return emptyResult(rawReportId, 'missing');
      if (raw.state !== 'pending') return { ...emptyResult(rawReportId, raw.state), alreadyDone: true };
      const client = transactionClient(tx);
      const bytes = await readRawReportBytes(client, rawReportId);
      if (!bytes) return emptyResult(rawReportId, 'missing');

      const result = emptyResult(rawReportId, 'parsed');
      const domains = await domainIndex(tx);
      let stage: ReportRowStage | undefined;
      let current: LearntReport | undefined;
      let rowsSent = 0;
      let newReports = 0;
      let newShown = 0;
      let sawFailure = false;
      let storeFailures: boolean | undefined;
      const readOptions: ReadReportsOptions = options.limits ? { limits: options.limits } : {};
      const read = options.readEvents ?? readPreparedReports;
      try {
        for await (const event of read(bytes, readOptions)) {
          switch (event.type) {
            case 'aggregate-header': {
              if (current) throw new Error('an aggregate report began before the previous one ended');
              const domainId = domains.lookup(event.header.policyPublished.domain);
              const id = await insertAggregate(
                tx,
                tenantId,
                rawReportId,
                event.source,
                event.header,
                domainId,
              );
              if (id === undefined) {
                // Its rows are still read (the parse must finish) and dropped.
                result.duplicates++;
                break;
              }
              result.aggregateReports++;
              newReports++;
              if (domainId === null) result.quarantined++;
              else newShown++;
              stage ??= await ReportRowStage.open(client, tenantId, options.stage);
              stage.begin(id, domainId);
              current = {
                reportId: id,
                domainId,
                policyDomain: event.header.policyPublished.domain.toLowerCase(),
                dateRange: event.header.dateRange,
                orgName: event.header.orgName ?? '',
                externalReportId: event.header.reportId ?? '',
              };
              break;
            }
            case 'aggregate-rows': {
              if (!current || !stage) break;
              await stage.write(event.data, event.rows);
              rowsSent += event.rows;
              await options.onBatch?.(rowsSent);
              break;
            }
            case 'aggregate-end': {
              if (!current || !stage) break;
              const report = current;
              current = undefined;
              result.rows += await stage.finish();
              await tx
                .update(dmarcReports)
                .set({ recordCount: event.stats.recordCount, messageCount: event.stats.messageCount })
                .where(eq(dmarcReports.id, report.reportId));
              await applyLearnt(tx, report.domainId, event.learning);
              const eventId = await unknownSourceEvent(tx, tenantId, report, event.learning);
              if (eventId) result.eventIds.push(eventId);
              break;
            }
            case 'tls': {
              const stored = await insertTls(tx, tenantId, rawReportId, event.source, event.report, domains);
              if (!stored.inserted) {
                result.duplicates++;
                break;
              }
              result.eventIds.push(...(await tlsFailureEvents(tx, tenantId, event.report, domains)));
              result.tlsReports++;
              newReports++;
              if (stored.quarantined) result.quarantined++;
              else newShown++;
              break;
            }
            case 'failure': {
              // Stored only on the tenant's opt-in, and only about a watched domain (failure-reports.ts).
              sawFailure = true;
              storeFailures ??= await failureReportOptIn(tx);
              const stored = storeFailures
                ? await storeFailureReport(
                    tx,
                    clock,
                    tenantId,
                    rawReportId,
                    event.source,
                    event.report,
                    domains,
                  )
                : 'not_stored';
              if (stored === 'stored') {
                result.failureReports++;
                newReports++;
                newShown++;
              } else if (stored === 'duplicate') result.duplicates++;
              else result.failureReportsSkipped++;
              break;
            }
          }
        }
        if (current) throw new Error('the parser ended inside an aggregate report');
      } catch (err) {
        // An open COPY would hold the connection: fail it, so the rollback can run.
        await stage?.abort(err);
        throw err;
      }
      // `duplicate`: nothing new at all; `quarantined`: only reports about domains not watched.
      const state: RawReportState =
        newReports === 0 && result.duplicates > 0
          ? 'duplicate'
          : newReports > 0 && newShown === 0
            ? 'quarantined'
            : 'parsed';
      result.state = state;
      await tx
        .update(rawReports)
        .set({
          parseState: state,
          parsedAt: clock.now(),
          errorCode: null,
          errorDetail: null,
          holdsFailureReports: sawFailure,
        })
        .where(eq(rawReports.id, rawReportId));
      return result;
    });
  } catch (err) {
    if (!isReportParseError(err)) throw err;
    return recordFailure(deps, tenantId, rawReportId, err.code, err.detail);
  }
}

async function recordFailure(
  deps: { db: Database; clock: Clock },
  tenantId: string,
  rawReportId: string,
  code: string,
  detail: string,
): Promise<IngestResult> {
  const { rawReports } = schema;
  await withTenant(deps.db, tenantId, (tx) =>
    tx
      .update(rawReports)
      .set({
        parseState: 'failed',
        parsedAt: deps.clock.now(),
        errorCode: code,
        errorDetail: detail.slice(0, 2_000),
      })
      .where(and(eq(rawReports.id, rawReportId), eq(rawReports.parseState, 'pending'))),
  );
  return { ...emptyResult(rawReportId, 'failed'), errorCode: code, errorDetail: detail };
}
