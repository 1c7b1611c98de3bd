/**
 * Report intake and analytics for one tenant (issue 6 §1, §4): store an upload, show its status,
 * list reports, and serve the analytics of report-analytics.ts (summary per day, enforcement
 * advice) for one domain or, for GraphQL loaders, many at once. Quarantined reports (about domains
 * the tenant does not watch) are never shown: their rows carry no domain_id, and lists leave them
 * out.
 */
import { type Clock, decodeId, encodeId, notFound } from '@mailwarden/core';
import { type Database, type ReportIntake, schema, withTenant } from '@mailwarden/db';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { ensureReportAddress, rawReportStatus, type StoredRawReport, storeRawReport } from './raw-reports.ts';
import {
  type AdviceOptions,
  advise,
  type EnforcementAdvice,
  invalid,
  liveDomains,
  num,
  type ReportSummary,
  type ReportWindow,
  reportWindow,
  type SummaryOptions,
  summarise,
  topOf,
  uuids,
  type WindowOptions,
} from './report-analytics.ts';
import type { SourceName, SourceNamer } from './source-names.ts';

// The analytics' public shapes, where importers of the service have always found them.
export {
  type AdviceOptions,
  type DayVolume,
  type EnforcementAdvice,
  type EnforcementRecommendation,
  type FailingSource,
  maxReportWindowDays,
  type ReportSummary,
  type ReportWindow,
  reportWindow,
  type SourceStat,
  type SummaryOptions,
  type WindowOptions,
} from './report-analytics.ts';

function domainIdOf(typedId: string): string {
  const id = decodeId('dom', typedId);
  if (!id) throw notFound('domain', typedId);
  return id;
}

export interface ReportListItem {
  id: string;
  kind: 'aggregate' | 'tls';
  orgName: string;
  reportId: string;
  policyDomain: string | null;
  domainId: string | null;
  begin: string;
  end: string;
  recordCount: number;
  messageCount: number;
  receivedAt: string;
}

export interface ReportsServiceDeps {
  db: Database;
  clock: Clock;
  /** Names of source addresses for the analytics (source-names.ts); none when left out. */
  names?: Pick<SourceNamer, 'names'>;
}

export function createReportsService(deps: ReportsServiceDeps) {
  const { db, clock } = deps;
  const { domains } = schema;

  async function assertDomain(tenantId: string, typedId: string): Promise<string> {
    const id = domainIdOf(typedId);
    const rows = await withTenant(db, tenantId, (tx) =>
      tx
        .select({ id: domains.id })
        .from(domains)
        .where(and(eq(domains.id, id), isNull(domains.deletedAt))),
    );
    if (rows.length === 0) throw notFound('domain', typedId);
    return id;
  }

  return {
    /** Commits an upload (or a received message); the caller enqueues the parse after this returns. */
    store(tenantId: string, via: ReportIntake, bytes: Uint8Array): Promise<StoredRawReport> {
      return storeRawReport(deps, tenantId, via, bytes);
    },

    /** The tenant's report address local part (created on first use): `<token>@<INBOUND_DOMAIN>`. */
    reportAddressToken(tenantId: string): Promise<string> {
      return ensureReportAddress(db, tenantId);
    },

    async status(tenantId: string, typedId: string) {
      const id = decodeId('rpt', typedId);
      const row = id ? await rawReportStatus(db, tenantId, id) : undefined;
      if (!row) throw notFound('report upload', typedId);
      return {
        id: encodeId('rpt', row.id),
        receivedVia: row.receivedVia,
        sha256: row.sha256,
        size: row.size,
        receivedAt: row.receivedAt.toISOString(),
        state: row.state,
        errorCode: row.errorCode,
        errorDetail: row.errorDetail,
        parsedAt: row.parsedAt?.toISOString() ?? null,
      };
    },

    /** Aggregate and TLS reports about the tenant's domains, newest first. */
    async list(
      tenantId: string,
      filter: { domainId?: string; kind?: 'aggregate' | 'tls'; cursor?: string; limit?: number } = {},
    ): Promise<{ items: ReportListItem[]; nextCursor: string | null }> {
      const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
      const domainId = filter.domainId ? await assertDomain(tenantId, filter.domainId) : undefined;
      let before: string | undefined;
      if (filter.cursor !== undefined) {
        before = decodeId('rpt', filter.cursor);
        if (!before) throw invalid('query.cursor', 'is not a cursor of this list');
      }
      const aggregate = sql`
        select 'aggregate' as kind, r.id, r.org_name, r.report_id, r.policy_domain, r.domain_id,
               r.date_begin, r.date_end, r.record_count, r.message_count, r.created_at
          from dmarc_reports r
         where not r.quarantined
           ${domainId ? sql`and r.domain_id = ${domainId}::uuid` : sql``}
           ${before ? sql`and r.id < ${before}::uuid` : sql``}`;
      const tls = sql`
        select 'tls' as kind, t.id, t.org_name, t.report_id,
               (select p.policy_domain from tls_report_policies p where p.report_id = t.id order by p.id limit 1),
               (select p.domain_id from tls_report_policies p where p.report_id = t.id and p.domain_id is not null order by p.id limit 1),
               t.date_begin, t.date_end,
               (select count(*) from tls_report_policies p where p.report_id = t.id)::int,
               t.successful_sessions + t.failed_sessions, t.created_at
          from tls_reports t
         where not t.quarantined
           ${domainId ? sql`and exists (select 1 from tls_report_policies p where p.report_id = t.id and p.domain_id = ${domainId}::uuid)` : sql``}
           ${before ? sql`and t.id < ${before}::uuid` : sql``}`;
      const query =
        filter.kind === 'aggregate'
          ? aggregate
          : filter.kind === 'tls'
            ? tls
            : sql`${aggregate} union all ${tls}`;
      const result = await withTenant(db, tenantId, (tx) =>
        tx.execute<Record<string, unknown>>(sql`${query} order by id desc limit ${limit + 1}`),
      );
      const rows = result.rows;
      const page = rows.slice(0, limit);
      return {
        items: page.map((r) => ({
          id: encodeId('rpt', r.id as string),
          kind: r.kind as 'aggregate' | 'tls',
          orgName: r.org_name as string,
          reportId: r.report_id as string,
          policyDomain: (r.policy_domain as string | null) ?? null,
          domainId: r.domain_id ? encodeId('dom', r.domain_id as string) : null,
          begin: new Date(r.date_begin as string).toISOString(),
          end: new Date(r.date_end as string).toISOString(),
          recordCount: num(r.record_count),
          messageCount: num(r.message_count),
          receivedAt: new Date(r.created_at as string).toISOString(),
        })),
        nextCursor: rows.length > limit ? encodeId('rpt', page[page.length - 1]!.id as string) : null,
      };
    },

    /** The analytics window of from/to, validated as every summary and advice read does. */
    window(opts: WindowOptions = {}): ReportWindow {
      return reportWindow(clock.now(), opts.from, opts.to, opts.locationPrefix);
    },

    /** Per day: volume, DMARC pass, SPF/DKIM alignment, dispositions; top sources, reporters, TLS. */
    async summary(
      tenantId: string,
      domainTypedId: string,
      opts: WindowOptions & SummaryOptions = {},
    ): Promise<ReportSummary> {
      const domainId = await assertDomain(tenantId, domainTypedId);
      const window = reportWindow(clock.now(), opts.from, opts.to, opts.locationPrefix);
      const found = await withTenant(db, tenantId, (tx) => summarise(tx, [domainId], window, topOf(opts)));
      return { domainId: domainTypedId, ...found.get(domainId)! };
    },

    /**
     * `summary` of many domains at once (GraphQL loaders): the same five statements, grouped by
     * domain, whatever the number of domains. Keys are domain uuids; ids that are not live domains
     * of the tenant are absent.
     */
    async summariesForDomains(
      tenantId: string,
      domainIds: readonly string[],
      opts: WindowOptions & SummaryOptions = {},
    ): Promise<Map<string, ReportSummary>> {
      const window = reportWindow(clock.now(), opts.from, opts.to, opts.locationPrefix);
      const out = new Map<string, ReportSummary>();
      const ids = uuids(domainIds);
      if (ids.length === 0) return out;
      return withTenant(db, tenantId, async (tx) => {
        const found = await summarise(tx, await liveDomains(tx, ids), window, topOf(opts));
        for (const [id, summary] of found) out.set(id, { domainId: encodeId('dom', id), ...summary });
        return out;
      });
    },

    /**
     * Can the domain move to a stricter policy (RFC 7489 §6.3 p=)? Only when no source with
     * significant volume that looks legitimate (it authenticates, just not aligned, or some of its
     * mail passes) still fails alignment: enforcing would send that mail to spam or bounce it.
     * Sources that authenticate nothing are what enforcement is for, and are listed as such.
     */
    async enforcementAdvice(
      tenantId: string,
      domainTypedId: string,
      opts: WindowOptions & AdviceOptions = {},
    ): Promise<EnforcementAdvice> {
      const domainId = await assertDomain(tenantId, domainTypedId);
      const window = reportWindow(clock.now(), opts.from, opts.to, opts.locationPrefix);
      const found = await withTenant(db, tenantId, (tx) => advise(tx, [domainId], window, opts));
      return { domainId: domainTypedId, ...found.get(domainId)! };
    },

    /** `enforcementAdvice` of many domains in two statements (GraphQL loaders); keys are uuids. */
    async enforcementAdviceForDomains(
      tenantId: string,
      domainIds: readonly string[],
      opts: WindowOptions & AdviceOptions = {},
    ): Promise<Map<string, EnforcementAdvice>> {
      const window = reportWindow(clock.now(), opts.from, opts.to, opts.locationPrefix);
      const out = new Map<string, EnforcementAdvice>();
      const ids = uuids(domainIds);
      if (ids.length === 0) return out;
      return withTenant(db, tenantId, async (tx) => {
        const found = await advise(tx, await liveDomains(tx, ids), window, opts);
        for (const [id, advice] of found) out.set(id, { domainId: encodeId('dom', id), ...advice });
        return out;
      });
    },

    /**
     * Reverse DNS and sending-service names of source addresses (source-names.ts: cached, at most a
     * bounded number of lookups per call). Without a namer (no resolver wired) every name is unknown.
     */
    async sourceNames(ips: readonly string[]): Promise<Map<string, SourceName>> {
      return deps.names ? deps.names.names(ips) : new Map();
    },
  };
}

export type ReportsService = ReturnType<typeof createReportsService>;
