/**
 * What reports teach monitoring (issue 6 §4), in the report's own transaction: DKIM selectors and
 * real sending IPs for the domain's checks, and the outbox events `dmarc.unknown_source` and
 * `tls_rpt.failures`.
 */
import { uuidv7 } from '@mailwarden/core';
import { schema, type Tx } from '@mailwarden/db';
import type { TlsReport } from '@mailwarden/reports';
import { sql } from 'drizzle-orm';
import {
  learntSelectorsMax,
  learntSendingIpsMax,
  type ReportLearning,
  unknownSourceMinMessages,
} from './report-rows.ts';

export interface DomainIndex {
  /** The tenant's watched domain for a policy domain: the name itself or its closest watched parent. */
  lookup(name: string | null): string | null;
}

/** The stored aggregate report a lesson comes from. */
export interface LearntReport {
  /** `dmarc_reports.id`. */
  reportId: string;
  /** The watched domain; null for a quarantined report, which teaches nothing. */
  domainId: string | null;
  /** The report's policy domain, lower case. */
  policyDomain: string;
  dateRange: { begin: Date; end: Date };
  orgName: string;
  externalReportId: string;
}

/** At most this many sources are named in one event (the worst first). */
const unknownSourcesPerEvent = 20;

/**
 * `dmarc.unknown_source` for failing sources above the threshold (`learning.failing` holds only
 * those) that no earlier report of the domain showed. Written to the outbox in the report's
 * transaction; the outbox sweeper dispatches it (or the caller, with the returned id).
 */
export async function unknownSourceEvent(
  tx: Tx,
  tenantId: string,
  report: LearntReport,
  learning: ReportLearning,
): Promise<string | null> {
  if (report.domainId === null) return null;
  const heavy = learning.failing.filter(([, n]) => n >= unknownSourceMinMessages);
  if (heavy.length === 0) return null;
  const domainName = report.policyDomain;
  const seen = await tx.execute<{ ip: string }>(sql`
    select distinct host(source_ip) as ip from dmarc_report_rows
     where domain_id = ${report.domainId} and report_id <> ${report.reportId}
       and source_ip = any(${sql.param(heavy.map(([ip]) => ip))}::inet[])`);
  const known = new Set(seen.rows.map((r) => r.ip));
  const fresh = heavy.filter(([ip]) => !known.has(ip)).sort((a, b) => b[1] - a[1]);
  if (fresh.length === 0) return null;
  const messages = fresh.reduce((sum, [, n]) => sum + n, 0);
  const id = uuidv7();
  await tx.insert(schema.monitoringEvents).values({
    id,
    tenantId,
    domainId: report.domainId,
    type: 'dmarc.unknown_source',
    severity: 'high',
    payload: {
      domain: { id: report.domainId, name: domainName },
      severity: 'high',
      summary: `${fresh.length} new source${fresh.length === 1 ? '' : 's'} sent ${messages} messages as ${domainName} and failed DMARC`,
      report: {
        reporter: report.orgName,
        reportId: report.externalReportId,
        periodStart: report.dateRange.begin.toISOString(),
        periodEnd: report.dateRange.end.toISOString(),
      },
      details: {
        sources: fresh.slice(0, unknownSourcesPerEvent).map(([ip, count]) => ({ ip, messages: count })),
      },
    },
    occurredAt: new Date(),
  });
  return id;
}

/**
 * `tls_rpt.failures`: a TLS report in which senders failed to establish a secure session with a
 * watched domain's MX (issue 6 §4), one event per domain, failures grouped by result type and MX.
 */
export async function tlsFailureEvents(
  tx: Tx,
  tenantId: string,
  report: TlsReport,
  domains: DomainIndex,
): Promise<string[]> {
  const byDomain = new Map<
    string,
    { name: string; failed: number; succeeded: number; types: Map<string, number>; mx: Map<string, number> }
  >();
  for (const policy of report.policies) {
    const domainId = domains.lookup(policy.policyDomain);
    if (domainId === null || policy.totalFailureSessionCount === 0) continue;
    const entry = byDomain.get(domainId) ?? {
      name: policy.policyDomain ?? '',
      failed: 0,
      succeeded: 0,
      types: new Map(),
      mx: new Map(),
    };
    entry.failed += policy.totalFailureSessionCount;
    entry.succeeded += policy.totalSuccessfulSessionCount;
    for (const detail of policy.failureDetails) {
      entry.types.set(
        detail.resultType,
        (entry.types.get(detail.resultType) ?? 0) + detail.failedSessionCount,
      );
      const mx = detail.receivingMxHostname ?? detail.receivingIp ?? 'unknown';
      entry.mx.set(mx, (entry.mx.get(mx) ?? 0) + detail.failedSessionCount);
    }
    byDomain.set(domainId, entry);
  }
  const ids: string[] = [];
  for (const [domainId, entry] of byDomain) {
    const id = uuidv7();
    const total = entry.failed + entry.succeeded;
    // Most sessions failing is an outage of secure delivery; a few is worth knowing.
    const severity = total > 0 && entry.failed / total >= 0.5 ? 'high' : 'medium';
    const top = (m: Map<string, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 20)
        .map(([key, sessions]) => ({ key, sessions }));
    await tx.insert(schema.monitoringEvents).values({
      id,
      tenantId,
      domainId,
      type: 'tls_rpt.failures',
      severity,
      payload: {
        domain: { id: domainId, name: entry.name },
        severity,
        summary: `${entry.failed} of ${total} TLS sessions to ${entry.name} failed (${report.organizationName})`,
        report: {
          reporter: report.organizationName,
          reportId: report.reportId,
          periodStart: report.dateRange.start.toISOString(),
          periodEnd: report.dateRange.end.toISOString(),
        },
        details: {
          failedSessions: entry.failed,
          successfulSessions: entry.succeeded,
          byResultType: top(entry.types).map(({ key, sessions }) => ({ resultType: key, sessions })),
          byMx: top(entry.mx).map(({ key, sessions }) => ({ mx: key, sessions })),
        },
      },
      occurredAt: new Date(),
    });
    ids.push(id);
  }
  return ids;
}

/**
 * Adds what a report taught to the domain's monitored selectors and sending IPs (deduplicated,
 * capped), in the report's transaction: the next DKIM and blocklist runs use them.
 */
export async function applyLearnt(tx: Tx, domainId: string | null, learning: ReportLearning): Promise<void> {
  if (domainId === null || (learning.selectors.length === 0 && learning.ips.length === 0)) return;
  await tx.execute(sql`
    update domains
       set dkim_selectors = (select coalesce(array_agg(s), '{}') from (
             select distinct s from unnest(dkim_selectors || ${sql.param(learning.selectors)}::text[]) as s
             order by s limit ${learntSelectorsMax}) t),
           sending_ips = (select coalesce(array_agg(ip), '{}') from (
             select distinct ip from unnest(sending_ips || ${sql.param(learning.ips)}::text[]) as ip
             order by ip limit ${learntSendingIpsMax}) t)
     where id = ${domainId}`);
}
