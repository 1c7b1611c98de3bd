/**
 * What a finished scan means for the command: whether `--fail-on` trips, severity counts, and the
 * CSV row of bulk mode. Only scored results count: a result that is `unknown` lists what it could
 * prove, but a run that could not finish is not a verdict (DESIGN.md §3), so it never fails a
 * pipeline nor adds to the counts.
 */
import { SCAN_CHECKS, type ScanReport, type Severity, severities, severityRank } from '@mailwarden/checks';
import type { OutputFormat } from './args.ts';
import type { BulkOutcome } from './bulk.ts';

/** Bytes are not JSON; the few facts that hold them are shown as base64. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value))
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return typeof value === 'bigint' ? value.toString() : value;
}

export function reportJson(report: ScanReport, indent?: number): string {
  return JSON.stringify(report, jsonReplacer, indent);
}

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

/** The line a bulk scan writes for one domain. */
export function outcomeText(outcome: BulkOutcome, format: OutputFormat): string {
  if ('error' in outcome)
    return format === 'csv'
      ? csvErrorRow(outcome.domain, outcome.error)
      : `${JSON.stringify({ domain: outcome.domain, error: outcome.error })}\n`;
  return format === 'csv' ? csvRow(outcome.report) : `${reportJson(outcome.report)}\n`;
}

/** What a bulk run found, in sums: the end-of-run summary, and what threads report to the main one. */
export interface BulkTally {
  scanned: number;
  /** Domains that could not be scanned at all (a bug: see scanMany). */
  errors: number;
  /** Reports with a finding at or above `--fail-on`. */
  failedOn: number;
  /** Reports per grade; `none` for a scan too incomplete to grade. */
  grades: Record<string, number>;
  /** Reports with at least one check that could not finish (unknown). */
  withUnknownChecks: number;
  /** DNS questions the scans asked, cached answers included (the reports' `dnsQueries`). */
  dnsQuestions: number;
}

export function emptyTally(): BulkTally {
  return { scanned: 0, errors: 0, failedOn: 0, grades: {}, withUnknownChecks: 0, dnsQuestions: 0 };
}

export function tallyOutcome(tally: BulkTally, outcome: BulkOutcome, failOn: Severity | null): void {
  tally.scanned++;
  if ('error' in outcome) {
    tally.errors++;
    return;
  }
  const { report } = outcome;
  const grade = report.posture.grade ?? 'none';
  tally.grades[grade] = (tally.grades[grade] ?? 0) + 1;
  if (report.posture.unknownChecks.length > 0) tally.withUnknownChecks++;
  tally.dnsQuestions += report.dnsQueries;
  if (failOn !== null && failOnTriggered(report, failOn)) tally.failedOn++;
}

export function mergeTally(into: BulkTally, part: BulkTally): void {
  into.scanned += part.scanned;
  into.errors += part.errors;
  into.failedOn += part.failedOn;
  into.withUnknownChecks += part.withUnknownChecks;
  into.dnsQuestions += part.dnsQuestions;
  for (const [grade, n] of Object.entries(part.grades)) into.grades[grade] = (into.grades[grade] ?? 0) + n;
}

const GRADE_ORDER = ['A+', 'A', 'B', 'C', 'D', 'F', 'none'];

/** One line for a person at a terminal: `3 domains: A+ 1, F 1, none 1; 1 with unknown checks`. */
export function describeTally(tally: BulkTally): string {
  const rank = (grade: string) => {
    const i = GRADE_ORDER.indexOf(grade);
    return i < 0 ? GRADE_ORDER.length : i;
  };
  const grades = Object.entries(tally.grades)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([grade, n]) => `${grade} ${n}`)
    .join(', ');
  const extras = [
    tally.withUnknownChecks > 0 ? `${tally.withUnknownChecks} with unknown checks` : '',
    tally.errors > 0 ? `${tally.errors} not scanned` : '',
  ].filter((e) => e !== '');
  return `${tally.scanned} domain${tally.scanned === 1 ? '' : 's'}${grades ? `: ${grades}` : ''}${extras.length > 0 ? `; ${extras.join('; ')}` : ''}`;
}
