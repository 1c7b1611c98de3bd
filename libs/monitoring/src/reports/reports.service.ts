/**
 * Report intake and analytics for one tenant (issue 6 §1, §4): store an upload, show its status,
 * list reports, summarise a domain's DMARC and TLS-RPT data per day, and advise whether the domain
 * can move to a stricter DMARC policy. Quarantined reports (about domains the tenant does not
 * watch) are never shown: their rows carry no domain_id, and lists leave them out.
 *
 * The summary and the advice are computed for a set of domains, grouped by domain in SQL: REST
 * asks for one domain, GraphQL loaders for every domain of a dashboard in the same statements, so
 * both transports give the same answer and a dashboard costs the same whatever its size.
 */
import { AppError, type Clock, decodeId, encodeId, notFound } from '@mailwarden/core';
import { type Database, type ReportIntake, schema, type Tx, withTenant } from '@mailwarden/db';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { ensureReportAddress, rawReportStatus, type StoredRawReport, storeRawReport } from './raw-reports.ts';
import type { SourceName, SourceNamer } from './source-names.ts';

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

/**
 * from/to as UTC days; default the last 30 days up to today. `locationPrefix` names where the
 * values came from in error locations (`query.` for REST, `''` for GraphQL arguments).
 */
export function reportWindow(now: Date, from?: string, to?: string, locationPrefix = 'query.'): ReportWindow {
  const fromAt = `${locationPrefix}from`;
  const toAt = `${locationPrefix}to`;
  const parse = (value: string, location: string) => {
    const date = DATE_RE.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
    if (Number.isNaN(date.getTime())) throw invalid(location, 'must be a date (YYYY-MM-DD)');
    return date.toISOString().slice(0, 10);
  };
  const end = to ? parse(to, toAt) : now.toISOString().slice(0, 10);
  const start = from
    ? parse(from, fromAt)
    : new Date(Date.parse(end) - 29 * DAY_MS).toISOString().slice(0, 10);
  if (start > end) throw invalid(fromAt, `must not be after ${toAt}`);
  if ((Date.parse(end) - Date.parse(start)) / DAY_MS > maxReportWindowDays)
    throw invalid(fromAt, `must be at most ${maxReportWindowDays} days before ${toAt}`);
  return { from: start, to: end };
}

export interface WindowOptions {
  /** First UTC day (YYYY-MM-DD); default 29 days before `to`. */
  from?: string | undefined;
  /** Last UTC day; default today. */
  to?: string | undefined;
  /** See `reportWindow`. */
  locationPrefix?: string | undefined;
}

export interface SummaryOptions {
  /** Sources listed per domain, 1 to 100; default 20. */
  topSources?: number | undefined;
}

export interface AdviceOptions {
  /** Share of the domain's volume a failing source must reach to count; default 0.5 %. */
  minShare?: number | undefined;
  /** Failing messages a source must reach to count, whatever the share; default 10. */
  minMessages?: number | undefined;
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

const REPORTERS_MAX = 100;
const TLS_FAILURES_MAX = 100;
const ADVICE_SOURCES_MAX = 50;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const topOf = (opts: SummaryOptions) => Math.min(Math.max(opts.topSources ?? 20, 1), 100);
const uuids = (ids: readonly string[]) => [...new Set(ids.filter((id) => UUID_RE.test(id)))];
const idsParam = (ids: readonly string[]) => sql`${sql.param([...ids])}::uuid[]`;

/** The ids that are live domains of the transaction's tenant (RLS and the tenant's own rows). */
async function liveDomains(tx: Tx, ids: readonly string[]): Promise<string[]> {
  const rows = await tx
    .select({ id: schema.domains.id })
    .from(schema.domains)
    .where(and(inArray(schema.domains.id, [...ids]), isNull(schema.domains.deletedAt)));
  return rows.map((r) => r.id);
}

function emptyVolume(day: string): DayVolume {
  return {
    day,
    messages: 0,
    dmarcPass: 0,
    dkimAligned: 0,
    spfAligned: 0,
    dispositions: { none: 0, quarantine: 0, reject: 0 },
  };
}

/** Rows of a statement grouped by domain, keeping the statement's order within each domain. */
function byDomain<T>(
  ids: readonly string[],
  rows: Record<string, unknown>[],
  map: (row: Record<string, unknown>) => T,
) {
  const out = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const row of rows) out.get(row.domain_id as string)?.push(map(row));
  return out;
}

type DomainSummary = Omit<ReportSummary, 'domainId'>;

/** The summaries of `ids` (live domains of the tenant) in five statements, one entry per id. */
async function summarise(
  tx: Tx,
  ids: readonly string[],
  window: ReportWindow,
  top: number,
): Promise<Map<string, DomainSummary>> {
  const out = new Map<string, DomainSummary>();
  if (ids.length === 0) return out;
  const inWindow = sql`domain_id = any(${idsParam(ids)}) and day between ${window.from}::date and ${window.to}::date`;
  const days = await tx.execute<Record<string, unknown>>(sql`
    select domain_id::text as domain_id, day::text as day, sum(count) as messages,
           sum(count) filter (where dkim_aligned or spf_aligned) as pass,
           sum(count) filter (where dkim_aligned) as dkim,
           sum(count) filter (where spf_aligned) as spf,
           sum(count) filter (where disposition = 'quarantine') as quarantine,
           sum(count) filter (where disposition = 'reject') as reject
      from dmarc_report_rows where ${inWindow}
     group by domain_id, day order by domain_id, day`);
  const sources = await tx.execute<Record<string, unknown>>(sql`
    select domain_id::text as domain_id, ip, messages, pass from (
      select domain_id, host(source_ip) as ip, sum(count) as messages,
             sum(count) filter (where dkim_aligned or spf_aligned) as pass,
             row_number() over (partition by domain_id order by sum(count) desc, source_ip) as rank
        from dmarc_report_rows where ${inWindow}
       group by domain_id, source_ip) s
     where rank <= ${top} order by domain_id, rank`);
  const reporters = await tx.execute<Record<string, unknown>>(sql`
    select domain_id::text as domain_id, org_name, reports, messages from (
      select x.domain_id, r.org_name, count(distinct r.id) as reports, sum(x.count) as messages,
             row_number() over (partition by x.domain_id order by sum(x.count) desc, r.org_name) as rank
        from dmarc_report_rows x join dmarc_reports r on r.id = x.report_id
       where x.domain_id = any(${idsParam(ids)})
         and x.day between ${window.from}::date and ${window.to}::date
       group by x.domain_id, r.org_name) s
     where rank <= ${REPORTERS_MAX} order by domain_id, rank`);
  const tlsTotals = await tx.execute<Record<string, unknown>>(sql`
    select domain_id::text as domain_id, sum(successful_sessions) as ok, sum(failed_sessions) as failed
      from tls_report_policies where ${inWindow}
     group by domain_id`);
  const tlsFailures = await tx.execute<Record<string, unknown>>(sql`
    select domain_id::text as domain_id, result_type, mx, sessions from (
      select p.domain_id, f->>'resultType' as result_type, f->>'receivingMxHostname' as mx,
             sum((f->>'failedSessionCount')::bigint) as sessions,
             row_number() over (
               partition by p.domain_id
               order by sum((f->>'failedSessionCount')::bigint) desc, f->>'resultType', f->>'receivingMxHostname'
             ) as rank
        from tls_report_policies p, jsonb_array_elements(p.failure_details) f
       where ${inWindow}
       group by p.domain_id, f->>'resultType', f->>'receivingMxHostname') s
     where rank <= ${TLS_FAILURES_MAX} order by domain_id, rank`);

  const dayRows = byDomain(ids, days.rows, (r): DayVolume => {
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
  const sourceRows = byDomain(
    ids,
    sources.rows,
    (r): SourceStat => ({
      ip: (r.ip as string | null) ?? null,
      messages: num(r.messages),
      dmarcPass: num(r.pass),
      passRate: rate(num(r.pass), num(r.messages)),
    }),
  );
  const reporterRows = byDomain(ids, reporters.rows, (r) => ({
    orgName: r.org_name as string,
    reports: num(r.reports),
    messages: num(r.messages),
  }));
  const tlsTotalRows = new Map(tlsTotals.rows.map((r) => [r.domain_id as string, r]));
  const failureRows = byDomain(ids, tlsFailures.rows, (r) => ({
    resultType: (r.result_type as string | null) ?? 'unknown',
    mx: (r.mx as string | null) ?? null,
    sessions: num(r.sessions),
  }));

  for (const id of ids) {
    const domainDays = dayRows.get(id)!;
    const totals = emptyVolume(`${window.from}..${window.to}`);
    for (const d of domainDays) {
      totals.messages += d.messages;
      totals.dmarcPass += d.dmarcPass;
      totals.dkimAligned += d.dkimAligned;
      totals.spfAligned += d.spfAligned;
      totals.dispositions.none += d.dispositions.none;
      totals.dispositions.quarantine += d.dispositions.quarantine;
      totals.dispositions.reject += d.dispositions.reject;
    }
    const tls = tlsTotalRows.get(id);
    out.set(id, {
      window,
      totals: {
        ...totals,
        passRate: rate(totals.dmarcPass, totals.messages),
        dkimAlignedRate: rate(totals.dkimAligned, totals.messages),
        spfAlignedRate: rate(totals.spfAligned, totals.messages),
      },
      days: domainDays,
      topSources: sourceRows.get(id)!,
      reporters: reporterRows.get(id)!,
      tls: {
        successfulSessions: num(tls?.ok),
        failedSessions: num(tls?.failed),
        failures: failureRows.get(id)!,
      },
    });
  }
  return out;
}

interface SourceVolume {
  ip: string | null;
  messages: number;
  failing: number;
  authenticated: number;
  headerFrom: string | null;
}

type DomainAdvice = Omit<EnforcementAdvice, 'domainId'>;

/** The advice of one domain from its sources' volumes and the policy its latest report states. */
function adviceFrom(
  window: ReportWindow,
  current: string | null,
  all: SourceVolume[],
  opts: AdviceOptions,
): DomainAdvice {
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
  let recommendation: EnforcementRecommendation;
  if (messages === 0) recommendation = 'insufficient_data';
  else if (current === 'reject') recommendation = 'already_enforced';
  else if (blocking.length > 0) recommendation = 'fix_sources_first';
  else if (current === 'quarantine') recommendation = 'move_to_reject';
  else recommendation = 'move_to_quarantine';
  return {
    window,
    currentPolicy: current,
    recommendation,
    messages,
    passRate: rate(messages - failing, messages),
    blockingSources: blocking.slice(0, ADVICE_SOURCES_MAX),
    unauthenticatedSources: significant
      .filter((s) => s.kind === 'unauthenticated')
      .slice(0, ADVICE_SOURCES_MAX),
    thresholdMessages: threshold,
  };
}

/** The advice of `ids` (live domains of the tenant) in two statements, one entry per id. */
async function advise(
  tx: Tx,
  ids: readonly string[],
  window: ReportWindow,
  opts: AdviceOptions,
): Promise<Map<string, DomainAdvice>> {
  const out = new Map<string, DomainAdvice>();
  if (ids.length === 0) return out;
  const policies = await tx.execute<Record<string, unknown>>(sql`
    select distinct on (domain_id) domain_id::text as domain_id, policy_published->>'p' as p
      from dmarc_reports
     where domain_id = any(${idsParam(ids)}) and not quarantined
     order by domain_id, date_end desc, id desc`);
  const sources = await tx.execute<Record<string, unknown>>(sql`
    select domain_id::text as domain_id, host(source_ip) as ip, sum(count) as messages,
           sum(count) filter (where not (dkim_aligned or spf_aligned)) as failing,
           sum(count) filter (where not (dkim_aligned or spf_aligned) and (
             exists (select 1 from jsonb_array_elements(dkim_auth) e where e->>'result' = 'pass') or
             exists (select 1 from jsonb_array_elements(spf_auth) e where e->>'result' = 'pass'))) as authenticated,
           (array_agg(header_from order by count desc))[1] as header_from
      from dmarc_report_rows
     where domain_id = any(${idsParam(ids)}) and day between ${window.from}::date and ${window.to}::date
     group by domain_id, source_ip`);
  const policyOf = new Map(policies.rows.map((r) => [r.domain_id as string, (r.p as string | null) ?? null]));
  const sourcesOf = byDomain(
    ids,
    sources.rows,
    (r): SourceVolume => ({
      ip: (r.ip as string | null) ?? null,
      messages: num(r.messages),
      failing: num(r.failing),
      authenticated: num(r.authenticated),
      headerFrom: (r.header_from as string | null) ?? null,
    }),
  );
  for (const id of ids) out.set(id, adviceFrom(window, policyOf.get(id) ?? null, sourcesOf.get(id)!, opts));
  return out;
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
