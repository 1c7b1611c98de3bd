/**
 * What reports teach monitoring (issue 6 §4), in the report's own transaction: DKIM selectors and
 * real sending IPs for the domain's checks, and the outbox events `dmarc.unknown_source` and
 * `tls_rpt.failures`.
 */
import { uuidv7 } from '@mailwarden/core';
import { schema, type Tx } from '@mailwarden/db';
import type { AggregateRecord, TlsReport } from '@mailwarden/reports';
import { sql } from 'drizzle-orm';

export interface DomainIndex {
  /** The tenant's watched domain for a policy domain: the name itself or its closest watched parent. */
  lookup(name: string | null): string | null;
}

export interface RowBuffer {
  reportId: string;
  domainId: string | null;
  dateRange: { begin: Date; end: Date };
  adkim: 'r' | 's' | null;
  aspf: 'r' | 's' | null;
  pending: AggregateRecord[];
  /** The report's policy domain, lower case. */
  policyDomain: string;
  /** What reports teach monitoring (issue 6 §4): DKIM selectors signing for the domain, and the
   * sources whose mail passed DMARC aligned — the domain's real senders, blocklist subjects. */
  learntSelectors: Set<string>;
  learntIps: Set<string>;
  /** Messages per source that failed DMARC in this report. */
  failing: Map<string, number>;
  orgName: string;
  externalReportId: string;
}

/**
 * A source that failed DMARC for at least this many messages in one report, and was never seen in
 * an earlier report of the domain, raises `dmarc.unknown_source` (issue 6 §4): someone new sends as
 * the domain — a forgotten ESP, or a spoofer.
 */
export const unknownSourceMinMessages = 100;
/** At most this many sources are named in one event (the worst first). */
const unknownSourcesPerEvent = 20;

/** Monitoring takes at most this many selectors and sending IPs from reports per domain. */
export const learntSelectorsMax = 50;
export const learntSendingIpsMax = 256;
const SELECTOR_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export function learn(buffer: RowBuffer, record: AggregateRecord, aligned: boolean): void {
  if (!aligned && record.sourceIp)
    buffer.failing.set(record.sourceIp, (buffer.failing.get(record.sourceIp) ?? 0) + record.count);
  for (const dkim of record.authResults.dkim) {
    const selector = dkim.selector?.toLowerCase();
    const domain = dkim.domain?.toLowerCase();
    if (!selector || !SELECTOR_RE.test(selector) || buffer.learntSelectors.size >= learntSelectorsMax)
      continue;
    // Only signatures of the domain itself (or a subdomain): a third party's selector is theirs.
    if (domain === buffer.policyDomain || domain?.endsWith(`.${buffer.policyDomain}`))
      buffer.learntSelectors.add(selector);
  }
  if (aligned && record.sourceIp && buffer.learntIps.size < learntSendingIpsMax)
    buffer.learntIps.add(record.sourceIp);
}

/**
 * `dmarc.unknown_source` for failing sources above the threshold that no earlier report of the
 * domain showed. Written to the outbox in the report's transaction; the outbox sweeper dispatches
 * it (or the caller, with the returned id).
 */
export async function unknownSourceEvent(
  tx: Tx,
  tenantId: string,
  buffer: RowBuffer,
  domainName: string,
): Promise<string | null> {
  if (buffer.domainId === null) return null;
  const heavy = [...buffer.failing].filter(([, n]) => n >= unknownSourceMinMessages);
  if (heavy.length === 0) return null;
  const seen = await tx.execute<{ ip: string }>(sql`
    select distinct host(source_ip) as ip from dmarc_report_rows
     where domain_id = ${buffer.domainId} and report_id <> ${buffer.reportId}
       and source_ip = any(${sql.param(heavy.map(([ip]) => ip))}::inet[])`);
  const known = new Set(seen.rows.map((r) => r.ip));
  const fresh = heavy.filter(([ip]) => !known.has(ip)).sort((a, b) => b[1] - a[1]);
  if (fresh.length === 0) return null;
  const messages = fresh.reduce((sum, [, n]) => sum + n, 0);
  const id = uuidv7();
  await tx.insert(schema.monitoringEvents).values({
    id,
    tenantId,
    domainId: buffer.domainId,
    type: 'dmarc.unknown_source',
    severity: 'high',
    payload: {
      domain: { id: buffer.domainId, name: domainName },
      severity: 'high',
      summary: `${fresh.length} new source${fresh.length === 1 ? '' : 's'} sent ${messages} messages as ${domainName} and failed DMARC`,
      report: {
        reporter: buffer.orgName,
        reportId: buffer.externalReportId,
        periodStart: buffer.dateRange.begin.toISOString(),
        periodEnd: buffer.dateRange.end.toISOString(),
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
export async function applyLearnt(tx: Tx, buffer: RowBuffer): Promise<void> {
  if (buffer.domainId === null || (buffer.learntSelectors.size === 0 && buffer.learntIps.size === 0)) return;
  await tx.execute(sql`
    update domains
       set dkim_selectors = (select coalesce(array_agg(s), '{}') from (
             select distinct s from unnest(dkim_selectors || ${sql.param([...buffer.learntSelectors])}::text[]) as s
             order by s limit ${learntSelectorsMax}) t),
           sending_ips = (select coalesce(array_agg(ip), '{}') from (
             select distinct ip from unnest(sending_ips || ${sql.param([...buffer.learntIps])}::text[]) as ip
             order by ip limit ${learntSendingIpsMax}) t)
     where id = ${buffer.domainId}`);
}
