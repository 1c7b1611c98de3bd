/**
 * Report analytics (issue 6 §4): a domain's DMARC and TLS-RPT data per UTC day, its top sources and
 * reporters, and the enforcement advisor (can it move to p=quarantine or p=reject, and which
 * sources still fail alignment). Quarantined reports (about domains the tenant does not watch)
 * never count: their rows carry no domain_id.
 *
 * Both reads work on a set of domains, grouped by domain in SQL: REST asks for one domain, GraphQL
 * loaders for every domain of a dashboard in the same statements, so both transports give the same
 * answer and a dashboard costs the same whatever its size. Every function here runs inside the
 * caller's tenant transaction.
 */
import { AppError } from '@mailwarden/core';
import { schema, type Tx } from '@mailwarden/db';
import { and, inArray, isNull, sql } from 'drizzle-orm';

const DAY_MS = 86_400_000;
/** Widest window an analytics query may ask for. */
export const maxReportWindowDays = 400;

export function invalid(location: string, message: string): AppError {
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

export const num = (value: unknown) => Number(value ?? 0);
const rate = (part: number, whole: number) =>
  whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000;

const REPORTERS_MAX = 100;
const TLS_FAILURES_MAX = 100;
const ADVICE_SOURCES_MAX = 50;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const topOf = (opts: SummaryOptions) => Math.min(Math.max(opts.topSources ?? 20, 1), 100);
export const uuids = (ids: readonly string[]) => [...new Set(ids.filter((id) => UUID_RE.test(id)))];
const idsParam = (ids: readonly string[]) => sql`${sql.param([...ids])}::uuid[]`;

/** The ids that are live domains of the transaction's tenant (RLS and the tenant's own rows). */
export async function liveDomains(tx: Tx, ids: readonly string[]): Promise<string[]> {
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
export async function summarise(
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
export async function advise(
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
