/**
 * What a finished scan means for the command: whether `--fail-on` trips, severity counts, and the
 * CSV row of bulk mode. Only scored results count: a result that is `unknown` lists what it could
 * prove, but a run that could not finish is not a verdict (DESIGN.md §3), so it never fails a
 * pipeline nor adds to the counts.
 */
import { SCAN_CHECKS, type ScanReport, type Severity, severities, severityRank } from '@mailwarden/checks';

export function failOnTriggered(report: ScanReport, threshold: Severity): boolean {
  const min = severityRank(threshold);
  return report.results.some(
    (r) => r.status !== 'unknown' && r.findings.some((f) => severityRank(f.severity) >= min),
  );
}

export function severityCounts(report: ScanReport): Record<Severity, number> {
  const counts = Object.fromEntries(severities.map((s) => [s, 0])) as Record<Severity, number>;
  for (const r of report.results) {
    if (r.status === 'unknown') continue;
    for (const f of r.findings) counts[f.severity]++;
  }
  return counts;
}

export const CSV_COLUMNS = [
  'domain',
  'grade',
  'score',
  'partial',
  'unknown_checks',
  ...SCAN_CHECKS,
  ...[...severities].reverse(),
  'finding_codes',
  'dns_queries',
  'duration_ms',
  'error',
] as const;

/** RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes inside. */
export function csvField(value: string | number | boolean | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(fields: readonly (string | number | boolean | null)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

export function csvHeader(): string {
  return csvLine(CSV_COLUMNS);
}

export function csvRow(report: ScanReport): string {
  const status = new Map(report.results.map((r) => [r.check, r.status]));
  const counts = severityCounts(report);
  const codes = [
    ...new Set(
      report.results.filter((r) => r.status !== 'unknown').flatMap((r) => r.findings.map((f) => f.code)),
    ),
  ].sort();
  return csvLine([
    report.domain,
    report.posture.grade,
    report.posture.score,
    report.posture.partial,
    report.posture.unknownChecks.join(' '),
    ...SCAN_CHECKS.map((c) => status.get(c) ?? 'not_run'),
    ...[...severities].reverse().map((s) => counts[s]),
    codes.join(' '),
    report.dnsQueries,
    report.durationMs,
    null,
  ]);
}

/** A domain the run could not scan at all (a bug, never a DNS problem): a row saying so. */
export function csvErrorRow(domain: string, error: string): string {
  const empty = CSV_COLUMNS.length - 2;
  return csvLine([domain, ...Array<null>(empty).fill(null), error]);
}
