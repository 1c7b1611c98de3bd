/**
 * DMARC failure (ARF, RFC 6591) reports (issue 6 §2): stored only when the tenant opted in
 * (`tenant_settings.store_failure_reports`), only about a domain the tenant watches, already
 * redacted by libs/reports, and purged after `failure_report_retention_days` (migration 0009).
 * Without the opt-in the ingest counts them and stores nothing; the raw input that carried one is
 * marked `holds_failure_reports` so the retention purge removes its bytes early either way.
 */
import { AppError, type Clock, decodeId, encodeId, notFound, uuidv7 } from '@mailwarden/core';
import { type Database, schema, type Tx, withTenant } from '@mailwarden/db';
import type { FailureReport } from '@mailwarden/reports';
import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import type { DomainIndex } from './report-feedback.ts';

/** Whether the tenant stores failure reports; no settings row means the default, no. */
export async function failureReportOptIn(tx: Tx): Promise<boolean> {
  const [row] = await tx
    .select({ store: schema.tenantSettings.storeFailureReports })
    .from(schema.tenantSettings);
  return row?.store ?? false;
}

/** The watched domain a failure report is about: its Reported-Domain, else the DKIM d= domain. */
export function failureReportDomain(
  report: FailureReport,
  domains: DomainIndex,
): { domainId: string; name: string } | null {
  const candidates = [...report.reportedDomains, report.dkimDomain];
  for (const name of candidates) {
    const domainId = domains.lookup(name?.toLowerCase() ?? null);
    if (domainId && name) return { domainId, name: name.toLowerCase() };
  }
  return null;
}

export type StoredFailure = 'stored' | 'duplicate' | 'not_watched';

/** Inserts one failure report in the ingest's transaction; the same (raw input, place) twice is one. */
export async function storeFailureReport(
  tx: Tx,
  clock: Clock,
  tenantId: string,
  rawReportId: string,
  source: string,
  report: FailureReport,
  domains: DomainIndex,
): Promise<StoredFailure> {
  const about = failureReportDomain(report, domains);
  if (!about) return 'not_watched';
  const inserted = await tx
    .insert(schema.failureReports)
    .values({
      id: uuidv7(clock.now().getTime()),
      tenantId,
      rawReportId,
      source: source.slice(0, 500),
      domainId: about.domainId,
      reportedDomain: about.name,
      feedbackType: report.feedbackType,
      arrivalDate: report.arrivalDate,
      sourceIp: report.sourceIp,
      authFailure: report.authFailure,
      deliveryResult: report.deliveryResult,
      identityAlignment: report.identityAlignment,
      originalMailFrom: report.originalMailFrom,
      originalRcptTo: report.originalRcptTo,
      dkimDomain: report.dkimDomain,
      dkimSelector: report.dkimSelector,
      spfDns: report.spfDns,
      authenticationResults: report.authenticationResults,
      headers: report.originalHeaders.map((h) => ({ name: h.name, value: h.value })),
      reporter: report.reporter.from,
      userAgent: report.userAgent,
    })
    .onConflictDoNothing()
    .returning({ id: schema.failureReports.id });
  return inserted.length > 0 ? 'stored' : 'duplicate';
}

export interface FailureReportView {
  id: string;
  domainId: string;
  reportedDomain: string;
  feedbackType: string;
  authFailure: string | null;
  deliveryResult: string | null;
  identityAlignment: string | null;
  arrivalDate: string | null;
  sourceIp: string | null;
  originalMailFrom: string | null;
  originalRcptTo: string[];
  dkim: { domain: string | null; selector: string | null };
  spfDns: string | null;
  authenticationResults: string[];
  headers: { name: string; value: string }[];
  reporter: string | null;
  userAgent: string | null;
  receivedAt: string;
  uploadId: string;
}

function view(row: typeof schema.failureReports.$inferSelect): FailureReportView {
  return {
    id: encodeId('frp', row.id),
    domainId: encodeId('dom', row.domainId),
    reportedDomain: row.reportedDomain,
    feedbackType: row.feedbackType,
    authFailure: row.authFailure,
    deliveryResult: row.deliveryResult,
    identityAlignment: row.identityAlignment,
    arrivalDate: row.arrivalDate?.toISOString() ?? null,
    sourceIp: row.sourceIp,
    originalMailFrom: row.originalMailFrom,
    originalRcptTo: row.originalRcptTo,
    dkim: { domain: row.dkimDomain, selector: row.dkimSelector },
    spfDns: row.spfDns,
    authenticationResults: row.authenticationResults,
    headers: row.headers,
    reporter: row.reporter,
    userAgent: row.userAgent,
    receivedAt: row.createdAt.toISOString(),
    uploadId: encodeId('rpt', row.rawReportId),
  };
}

/** Reading stored failure reports: newest first, per domain or all, and one by id. */
export function createFailureReportsService(deps: { db: Database }) {
  const { db } = deps;
  const { failureReports, domains } = schema;
  return {
    async list(
      tenantId: string,
      filter: { domainId?: string; cursor?: string; limit?: number } = {},
    ): Promise<{ items: FailureReportView[]; nextCursor: string | null }> {
      const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
      let domainId: string | undefined;
      if (filter.domainId !== undefined) {
        domainId = decodeId('dom', filter.domainId);
        if (!domainId) throw notFound('domain', filter.domainId);
      }
      let before: string | undefined;
      if (filter.cursor !== undefined) {
        before = decodeId('frp', filter.cursor);
        if (!before)
          throw new AppError('validation_failed', {
            detail: 'query.cursor is not a cursor of this list',
            errors: [{ location: 'query.cursor', message: 'is not a cursor of this list' }],
          });
      }
      return withTenant(db, tenantId, async (tx) => {
        if (domainId) {
          const [domain] = await tx
            .select({ id: domains.id })
            .from(domains)
            .where(and(eq(domains.id, domainId), isNull(domains.deletedAt)));
          if (!domain) throw notFound('domain', filter.domainId ?? '');
        }
        const rows = await tx
          .select()
          .from(failureReports)
          .where(
            and(
              domainId ? eq(failureReports.domainId, domainId) : undefined,
              before ? lt(failureReports.id, before) : undefined,
            ),
          )
          .orderBy(desc(failureReports.id))
          .limit(limit + 1);
        const page = rows.slice(0, limit);
        return {
          items: page.map(view),
          nextCursor: rows.length > limit ? encodeId('frp', page[page.length - 1]!.id) : null,
        };
      });
    },

    async get(tenantId: string, typedId: string): Promise<FailureReportView> {
      const id = decodeId('frp', typedId);
      const rows = id
        ? await withTenant(db, tenantId, (tx) =>
            tx.select().from(failureReports).where(eq(failureReports.id, id)),
          )
        : [];
      if (!rows[0]) throw notFound('failure report', typedId);
      return view(rows[0]);
    },
  };
}

export type FailureReportsService = ReturnType<typeof createFailureReportsService>;
