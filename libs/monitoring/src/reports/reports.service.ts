/**
 * Report intake and analytics for one tenant (issue 6 §1, §4): store an upload, show its status,
 * list reports, summarise a domain's DMARC and TLS-RPT data per day, and advise whether the domain
 * can move to a stricter DMARC policy. Quarantined reports (about domains the tenant does not
 * watch) are never shown: their rows carry no domain_id, and lists leave them out.
 */
import { AppError, type Clock, decodeId, encodeId, notFound } from '@mailwarden/core';
import { type Database, type ReportIntake, schema, withTenant } from '@mailwarden/db';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { ensureReportAddress, rawReportStatus, type StoredRawReport, storeRawReport } from './raw-reports.ts';

const DAY_MS = 86_400_000;
/** Widest window an analytics query may ask for. */
export const maxReportWindowDays = 400;

function invalid(location: string, message: string): AppError {
  return new AppError('validation_failed', {
    detail: `${location} ${message}`,
    errors: [{ location, message }],
  });
}

export interface ReportWindow {
  /** `YYYY-MM-DD` (UTC), inclusive. */
  from: string;
  to: string;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** from/to as UTC days; default the last 30 days up to today. */
export function reportWindow(now: Date, from?: string, to?: string): ReportWindow {
  const parse = (value: string, location: string) => {
    const date = DATE_RE.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
    if (Number.isNaN(date.getTime())) throw invalid(location, 'must be a date (YYYY-MM-DD)');
    return date.toISOString().slice(0, 10);
  };
  const end = to ? parse(to, 'query.to') : now.toISOString().slice(0, 10);
  const start = from
    ? parse(from, 'query.from')
    : new Date(Date.parse(end) - 29 * DAY_MS).toISOString().slice(0, 10);
  if (start > end) throw invalid('query.from', 'must not be after query.to');
  if ((Date.parse(end) - Date.parse(start)) / DAY_MS > maxReportWindowDays)
    throw invalid('query.from', `must be at most ${maxReportWindowDays} days before query.to`);
  return { from: start, to: end };
}

export interface DayVolume {
  day: string;
  messages: number;
  dmarcPass: number;
  dkimAligned: number;
  spfAligned: number;
  dispositions: { none: number; quarantine: number; reject: number };
}

export interface SourceStat {
  ip: string | null;
  messages: number;
  dmarcPass: number;
  passRate: number;
}

export interface ReportSummary {
  domainId: string;
  window: ReportWindow;
  totals: DayVolume & { passRate: number; dkimAlignedRate: number; spfAlignedRate: number };
  days: DayVolume[];
  topSources: SourceStat[];
  reporters: { orgName: string; reports: number; messages: number }[];
  tls: {
    successfulSessions: number;
    failedSessions: number;
    failures: { resultType: string; mx: string | null; sessions: number }[];
  };
}

export type EnforcementRecommendation =
  | 'insufficient_data'
  | 'move_to_quarantine'
  | 'move_to_reject'
  | 'fix_sources_first'
  | 'already_enforced';

export interface FailingSource {
  ip: string | null;
  messages: number;
  failing: number;
  passRate: number;
  /** `authenticated_unaligned`: passes SPF or DKIM for another domain (a service to configure);
   * `partially_aligned`: some of its mail passes (a selector or path to fix); `unauthenticated`:
   * nothing passes (spoofing, or a source to add to SPF/DKIM). */
  kind: 'authenticated_unaligned' | 'partially_aligned' | 'unauthenticated';
  headerFrom: string | null;
}

export interface EnforcementAdvice {
  domainId: string;
  window: ReportWindow;
  currentPolicy: string | null;
  recommendation: EnforcementRecommendation;
  messages: number;
  passRate: number;
  /** Failing sources above the significance threshold whose mail looks legitimate: fix these first. */
  blockingSources: FailingSource[];
  /** Significant failing sources with no authentication at all: what enforcement would stop. */
  unauthenticatedSources: FailingSource[];
  thresholdMessages: number;
}

function domainIdOf(typedId: string): string {
  const id = decodeId('dom', typedId);
  if (!id) throw notFound('domain', typedId);
  return id;
}

const num = (value: unknown) => Number(value ?? 0);
const rate = (part: number, whole: number) =>
  whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000;

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

export function createReportsService(deps: { db: Database; clock: Clock }) {
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

    /** Per day: volume, DMARC pass, SPF/DKIM alignment, dispositions; top sources, reporters, TLS. */
    async summary(
      tenantId: string,
      domainTypedId: string,
      opts: { from?: string; to?: string; topSources?: number } = {},
    ): Promise<ReportSummary> {
      const domainId = await assertDomain(tenantId, domainTypedId);
      const window = reportWindow(clock.now(), opts.from, opts.to);
      const top = Math.min(Math.max(opts.topSources ?? 20, 1), 100);
      const inWindow = sql`domain_id = ${domainId}::uuid and day between ${window.from}::date and ${window.to}::date`;
      return withTenant(db, tenantId, async (tx) => {
        const days = await tx.execute<Record<string, unknown>>(sql`
          select day::text as day, sum(count) as messages,
                 sum(count) filter (where dkim_aligned or spf_aligned) as pass,
                 sum(count) filter (where dkim_aligned) as dkim,
                 sum(count) filter (where spf_aligned) as spf,
                 sum(count) filter (where disposition = 'quarantine') as quarantine,
                 sum(count) filter (where disposition = 'reject') as reject
            from dmarc_report_rows where ${inWindow}
           group by day order by day`);
        const sources = await tx.execute<Record<string, unknown>>(sql`
          select host(source_ip) as ip, sum(count) as messages,
                 sum(count) filter (where dkim_aligned or spf_aligned) as pass
            from dmarc_report_rows where ${inWindow}
           group by source_ip order by sum(count) desc, source_ip limit ${top}`);
        const reporters = await tx.execute<Record<string, unknown>>(sql`
          select r.org_name, count(distinct r.id) as reports, sum(x.count) as messages
            from dmarc_report_rows x join dmarc_reports r on r.id = x.report_id
           where x.domain_id = ${domainId}::uuid
             and x.day between ${window.from}::date and ${window.to}::date
           group by r.org_name order by sum(x.count) desc, r.org_name limit 100`);
        const tlsTotals = await tx.execute<Record<string, unknown>>(sql`
          select sum(successful_sessions) as ok, sum(failed_sessions) as failed
            from tls_report_policies where ${inWindow}`);
        const tlsFailures = await tx.execute<Record<string, unknown>>(sql`
          select f->>'resultType' as result_type, f->>'receivingMxHostname' as mx,
                 sum((f->>'failedSessionCount')::bigint) as sessions
            from tls_report_policies p, jsonb_array_elements(p.failure_details) f
           where ${inWindow}
           group by 1, 2 order by sum((f->>'failedSessionCount')::bigint) desc, 1, 2 limit 100`);

        const dayRows: DayVolume[] = days.rows.map((r) => {
          const messages = num(r.messages);
          const quarantine = num(r.quarantine);
          const reject = num(r.reject);
          return {
            day: r.day as string,
            messages,
            dmarcPass: num(r.pass),
            dkimAligned: num(r.dkim),
            spfAligned: num(r.spf),
            dispositions: { none: messages - quarantine - reject, quarantine, reject },
          };
        });
        const totals: DayVolume = {
          day: `${window.from}..${window.to}`,
          messages: 0,
          dmarcPass: 0,
          dkimAligned: 0,
          spfAligned: 0,
          dispositions: { none: 0, quarantine: 0, reject: 0 },
        };
        for (const d of dayRows) {
          totals.messages += d.messages;
          totals.dmarcPass += d.dmarcPass;
          totals.dkimAligned += d.dkimAligned;
          totals.spfAligned += d.spfAligned;
          totals.dispositions.none += d.dispositions.none;
          totals.dispositions.quarantine += d.dispositions.quarantine;
          totals.dispositions.reject += d.dispositions.reject;
        }
        return {
          domainId: domainTypedId,
          window,
          totals: {
            ...totals,
            passRate: rate(totals.dmarcPass, totals.messages),
            dkimAlignedRate: rate(totals.dkimAligned, totals.messages),
            spfAlignedRate: rate(totals.spfAligned, totals.messages),
          },
          days: dayRows,
          topSources: sources.rows.map((r) => ({
            ip: (r.ip as string | null) ?? null,
            messages: num(r.messages),
            dmarcPass: num(r.pass),
            passRate: rate(num(r.pass), num(r.messages)),
          })),
          reporters: reporters.rows.map((r) => ({
            orgName: r.org_name as string,
            reports: num(r.reports),
            messages: num(r.messages),
          })),
          tls: {
            successfulSessions: num(tlsTotals.rows[0]?.ok),
            failedSessions: num(tlsTotals.rows[0]?.failed),
            failures: tlsFailures.rows.map((r) => ({
              resultType: (r.result_type as string | null) ?? 'unknown',
              mx: (r.mx as string | null) ?? null,
              sessions: num(r.sessions),
            })),
          },
        };
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
      opts: { from?: string; to?: string; minShare?: number; minMessages?: number } = {},
    ): Promise<EnforcementAdvice> {
      const domainId = await assertDomain(tenantId, domainTypedId);
      const window = reportWindow(clock.now(), opts.from, opts.to);
      const inWindow = sql`domain_id = ${domainId}::uuid and day between ${window.from}::date and ${window.to}::date`;
      return withTenant(db, tenantId, async (tx) => {
        const policy = await tx.execute<{ p: string | null }>(sql`
          select policy_published->>'p' as p from dmarc_reports
           where domain_id = ${domainId}::uuid and not quarantined
           order by date_end desc, id desc limit 1`);
        const sources = await tx.execute<Record<string, unknown>>(sql`
          select host(source_ip) as ip, sum(count) as messages,
                 sum(count) filter (where not (dkim_aligned or spf_aligned)) as failing,
                 sum(count) filter (where not (dkim_aligned or spf_aligned) and (
                   exists (select 1 from jsonb_array_elements(dkim_auth) e where e->>'result' = 'pass') or
                   exists (select 1 from jsonb_array_elements(spf_auth) e where e->>'result' = 'pass'))) as authenticated,
                 (array_agg(header_from order by count desc))[1] as header_from
            from dmarc_report_rows where ${inWindow}
           group by source_ip`);
        const all = sources.rows.map((r) => ({
          ip: (r.ip as string | null) ?? null,
          messages: num(r.messages),
          failing: num(r.failing),
          authenticated: num(r.authenticated),
          headerFrom: (r.header_from as string | null) ?? null,
        }));
        const messages = all.reduce((n, s) => n + s.messages, 0);
        const failing = all.reduce((n, s) => n + s.failing, 0);
        const threshold = Math.max(opts.minMessages ?? 10, Math.ceil(messages * (opts.minShare ?? 0.005)));
        const significant: FailingSource[] = all
          .filter((s) => s.failing >= threshold)
          .map((s) => ({
            ip: s.ip,
            messages: s.messages,
            failing: s.failing,
            passRate: rate(s.messages - s.failing, s.messages),
            kind:
              s.authenticated > 0
                ? ('authenticated_unaligned' as const)
                : s.failing < s.messages
                  ? ('partially_aligned' as const)
                  : ('unauthenticated' as const),
            headerFrom: s.headerFrom,
          }))
          .sort((a, b) => b.failing - a.failing);
        const blocking = significant.filter((s) => s.kind !== 'unauthenticated');
        const current = policy.rows[0]?.p ?? null;
        let recommendation: EnforcementRecommendation;
        if (messages === 0) recommendation = 'insufficient_data';
        else if (current === 'reject') recommendation = 'already_enforced';
        else if (blocking.length > 0) recommendation = 'fix_sources_first';
        else if (current === 'quarantine') recommendation = 'move_to_reject';
        else recommendation = 'move_to_quarantine';
        return {
          domainId: domainTypedId,
          window,
          currentPolicy: current,
          recommendation,
          messages,
          passRate: rate(messages - failing, messages),
          blockingSources: blocking.slice(0, 50),
          unauthenticatedSources: significant.filter((s) => s.kind === 'unauthenticated').slice(0, 50),
          thresholdMessages: threshold,
        };
      });
    },
  };
}

export type ReportsService = ReturnType<typeof createReportsService>;
