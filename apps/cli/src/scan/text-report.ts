/**
 * The human report of one scan: grouped by check, each finding with its severity, message, a short
 * evidence summary and the remediation from the findings catalogue. Colour is a parameter (the
 * command decides: a terminal, and no NO_COLOR), so the renderer is a pure function of the report.
 */
import {
  type Finding,
  findingDefinition,
  type ScanCheckName,
  type ScanReport,
  type Severity,
  severityRank,
} from '@mailwarden/checks';

export const CHECK_TITLES: Readonly<Record<ScanCheckName, string>> = {
  mx: 'MX',
  spf: 'SPF',
  dkim: 'DKIM',
  dmarc: 'DMARC',
  mta_sts: 'MTA-STS',
  tls_rpt: 'TLS-RPT',
  bimi: 'BIMI',
  blocklist: 'Blocklists',
};

/** Evidence entries shown per finding, and characters per value: the JSON output has it all. */
const MAX_EVIDENCE_ENTRIES = 4;
const MAX_EVIDENCE_VALUE_CHARS = 80;

type Style = (text: string) => string;
interface Palette {
  bold: Style;
  dim: Style;
  severity: Record<Severity, Style>;
  ok: Style;
  warn: Style;
  unknown: Style;
}

const sgr =
  (open: number, close: number): Style =>
  (text) =>
    `\x1b[${open}m${text}\x1b[${close}m`;
const plain: Style = (text) => text;

function palette(color: boolean): Palette {
  if (!color) {
    return {
      bold: plain,
      dim: plain,
      severity: { info: plain, low: plain, medium: plain, high: plain, critical: plain },
      ok: plain,
      warn: plain,
      unknown: plain,
    };
  }
  const red = sgr(31, 39);
  return {
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    severity: {
      info: sgr(2, 22),
      low: sgr(36, 39),
      medium: sgr(33, 39),
      high: red,
      critical: (t) => sgr(1, 22)(red(t)),
    },
    ok: sgr(32, 39),
    warn: sgr(33, 39),
    unknown: sgr(35, 39),
  };
}

function summarise(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value === undefined) text = 'undefined';
  else text = JSON.stringify(value) ?? String(value);
  text = text.replace(/\s+/g, ' ');
  return text.length > MAX_EVIDENCE_VALUE_CHARS ? `${text.slice(0, MAX_EVIDENCE_VALUE_CHARS - 1)}…` : text;
}

export function evidenceSummary(evidence: Record<string, unknown>): string {
  const entries = Object.entries(evidence).filter(([, v]) => v !== undefined && v !== null);
  const shown = entries.slice(0, MAX_EVIDENCE_ENTRIES).map(([k, v]) => `${k}=${summarise(v)}`);
  if (entries.length > MAX_EVIDENCE_ENTRIES)
    shown.push(`(+${entries.length - MAX_EVIDENCE_ENTRIES} more in --json)`);
  return shown.join('  ');
}

function renderFinding(f: Finding, p: Palette): string[] {
  const label = p.severity[f.severity](f.severity.toUpperCase().padEnd(8));
  const lines = [`  ${label} ${f.message}`, `           ${p.dim(`${f.code} · ${f.subject}`)}`];
  const evidence = evidenceSummary(f.evidence);
  if (evidence !== '') lines.push(`           ${p.dim(`evidence: ${evidence}`)}`);
  const remediation = findingDefinition(f.code)?.remediation;
  if (remediation && f.severity !== 'info') lines.push(`           fix: ${remediation}`);
  return lines;
}

export function renderTextReport(report: ScanReport, options: { color: boolean }): string {
  const p = palette(options.color);
  const { posture } = report;
  const grade = posture.grade === null ? p.unknown('unknown') : p.bold(posture.grade);
  const score = posture.score === null ? 'no score: nothing could be checked' : `${posture.score}/100`;
  const out: string[] = [
    `${p.bold(report.domain)}  grade ${grade} (${score})${posture.partial ? p.unknown(' — partial') : ''}`,
    p.dim(
      `scanned ${report.startedAt} in ${report.durationMs} ms · ${report.dnsQueries} DNS questions · ${report.fetches} HTTPS fetches`,
    ),
  ];
  for (const result of report.results) {
    const title = CHECK_TITLES[result.check as ScanCheckName] ?? result.check;
    const checkPosture = posture.checks.find((c) => c.check === result.check);
    let status: string;
    if (result.status === 'unknown')
      status = p.unknown('UNKNOWN — DNS or a fetch did not answer; not scored');
    else if (result.status === 'ok') status = p.ok('OK');
    else status = p.warn(`${result.findings.length} finding${result.findings.length === 1 ? '' : 's'}`);
    const scoreText =
      checkPosture?.score === null || checkPosture === undefined ? '' : p.dim(`  ${checkPosture.score}/100`);
    out.push('', `${p.bold(title)}  ${status}${scoreText}`);
    const failure = result.facts as { failure?: string; detail?: string };
    if (result.status === 'unknown' && typeof failure.failure === 'string') {
      out.push(`  ${p.unknown(`not finished: ${failure.failure}`)} ${p.dim(failure.detail ?? '')}`);
    }
    const sorted = [...result.findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
    for (const finding of sorted) out.push(...renderFinding(finding, p));
  }
  const notes: string[] = [];
  if (posture.unknownChecks.length > 0)
    notes.push(`not scored, unknown: ${posture.unknownChecks.map((c) => CHECK_TITLES[c]).join(', ')}`);
  if (posture.cappedBy)
    notes.push(
      `score capped at ${posture.cappedBy.maxScore} by ${posture.cappedBy.severity}: ${posture.cappedBy.codes.join(', ')}`,
    );
  if (notes.length > 0) out.push('', ...notes.map((n) => p.dim(n)));
  return `${out.join('\n')}\n`;
}
