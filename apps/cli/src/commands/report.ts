/**
 * `mailwarden report parse <file>`: any report file (xml, gz, zip, eml; DMARC aggregate, SMTP TLS
 * or a redacted failure report) printed as normalised JSON, no database, like parsedmarc's command
 * line. Records are written as they are parsed, so a 500 000-record report never sits in memory.
 * `--summary` prints totals instead (text, or JSON with --json). Exit codes: 0 parsed, 1 the file
 * was refused (the reason's stable code on stderr), 2 bad command line.
 */

import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type AggregateRecord,
  type AggregateTotals,
  createTotals,
  isReportParseError,
  type ReportEvent,
  readReports,
  recordAlignment,
} from '@mailwarden/reports';
import type { Command } from '../command.ts';

const EXIT_OK = 0;
const EXIT_REFUSED = 1;
const EXIT_USAGE = 2;

export const reportUsage = `Usage: mailwarden report parse <file> [--summary] [--json]

Parses a DMARC aggregate report, an SMTP TLS report or a failure (ARF) report — XML, JSON, gzip,
zip or a whole mail message (.eml), told apart by content — and prints it as normalised JSON.
"-" reads standard input.

Options:
  --summary   Print totals per report instead of every record
  --json      With --summary: the totals as JSON
  -h, --help  Show this help
`;

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

function indent(json: string, by: string): string {
  return json.replace(/\n/g, `\n${by}`);
}

function recordJson(record: AggregateRecord): string {
  return JSON.stringify({ ...record, alignment: recordAlignment(record) });
}

interface Summary {
  type: string;
  source: string;
  [key: string]: unknown;
}

function aggregateSummaryText(summary: Summary & { totals: AggregateTotals }): string {
  const t = summary.totals;
  const pct = (n: number) => (t.messages === 0 ? '-' : `${((100 * n) / t.messages).toFixed(1)}%`);
  const dispositions = Object.entries(t.dispositions)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  return `DMARC aggregate report ${JSON.stringify(summary.reportId)} from ${JSON.stringify(summary.orgName)} (${summary.source})
  domain      ${summary.domain}
  period      ${summary.begin} .. ${summary.end}
  records     ${t.records} (${summary.skippedRecords} empty skipped), ${t.sourceIps} source IPs
  messages    ${t.messages}: DMARC pass ${pct(t.dmarcPass)}, DKIM aligned ${pct(t.dkimAligned)}, SPF aligned ${pct(t.spfAligned)}
  disposition ${dispositions || '-'}
  warnings    ${summary.warningCount}
`;
}

async function run(file: string, summaryOnly: boolean, json: boolean): Promise<number> {
  const input = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 64 * 1024 });
  const summaries: Summary[] = [];
  let totals = createTotals();
  let reports = 0;
  let firstRecord = true;
  const full = !summaryOnly;
  // The opening goes out with the first report, so a file refused at once prints nothing.
  const next = (): string => (reports++ > 0 ? ',' : '{\n  "reports": [');
  try {
    for await (const event of readReports(
      input as AsyncIterable<Uint8Array>,
    ) as AsyncGenerator<ReportEvent>) {
      switch (event.type) {
        case 'aggregate-header':
          totals = createTotals();
          firstRecord = true;
          if (full) {
            const head = indent(
              JSON.stringify({ type: 'aggregate', source: event.source, report: event.header }, null, 2),
              '    ',
            );
            await write(`${next()}\n    ${head.slice(0, -1).trimEnd()},\n      "records": [`);
          }
          break;
        case 'aggregate-records':
          totals.add(event.records);
          if (full) {
            let text = '';
            for (const record of event.records) {
              text += `${firstRecord ? '' : ','}\n        ${recordJson(record)}`;
              firstRecord = false;
            }
            await write(text);
          }
          break;
        case 'aggregate-end':
          if (full)
            await write(
              `${firstRecord ? '' : '\n      '}],\n      "stats": ${indent(JSON.stringify(event.stats, null, 2), '      ')}\n    }`,
            );
          summaries.push({
            type: 'aggregate',
            source: event.source,
            orgName: event.header.orgName,
            reportId: event.header.reportId,
            domain: event.header.policyPublished.domain,
            begin: event.header.dateRange.begin.toISOString(),
            end: event.header.dateRange.end.toISOString(),
            skippedRecords: event.stats.skippedRecords,
            warningCount: event.stats.warningCount,
            totals: totals.totals(),
          });
          break;
        case 'tls': {
          if (full)
            await write(
              `${next()}\n    ${indent(JSON.stringify({ type: 'tls', source: event.source, report: event.report }, null, 2), '    ')}`,
            );
          const policies = event.report.policies;
          summaries.push({
            type: 'tls',
            source: event.source,
            organizationName: event.report.organizationName,
            reportId: event.report.reportId,
            begin: event.report.dateRange.start.toISOString(),
            end: event.report.dateRange.end.toISOString(),
            policies: policies.length,
            successfulSessions: policies.reduce((sum, p) => sum + p.totalSuccessfulSessionCount, 0),
            failedSessions: policies.reduce((sum, p) => sum + p.totalFailureSessionCount, 0),
          });
          break;
        }
        case 'failure':
          if (full)
            await write(
              `${next()}\n    ${indent(JSON.stringify({ type: 'failure', source: event.source, report: event.report }, null, 2), '    ')}`,
            );
          summaries.push({
            type: 'failure',
            source: event.source,
            feedbackType: event.report.feedbackType,
            authFailure: event.report.authFailure,
            sourceIp: event.report.sourceIp,
            reportedDomains: event.report.reportedDomains,
          });
          break;
      }
    }
  } catch (err) {
    if (full && reports > 0) await write('\n');
    if (isReportParseError(err)) {
      process.stderr.write(`mailwarden report: ${file}: ${err.message}\n`);
      return EXIT_REFUSED;
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`mailwarden report: ${file}: no such file\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (full) await write('\n  ]\n}\n');
  else if (json) await write(`${JSON.stringify({ reports: summaries }, null, 2)}\n`);
  else {
    for (const summary of summaries) {
      if (summary.type === 'aggregate')
        await write(aggregateSummaryText(summary as Summary & { totals: AggregateTotals }));
      else if (summary.type === 'tls')
        await write(
          `SMTP TLS report ${JSON.stringify(summary.reportId)} from ${JSON.stringify(summary.organizationName)} (${summary.source})\n  period      ${summary.begin} .. ${summary.end}\n  policies    ${summary.policies}\n  sessions    ${summary.successfulSessions} successful, ${summary.failedSessions} failed\n`,
        );
      else
        await write(
          `Failure report (${summary.feedbackType}, ${summary.authFailure ?? 'unspecified'}) from ${summary.sourceIp ?? 'unknown IP'} for ${(summary.reportedDomains as string[]).join(', ') || '-'} (${summary.source})\n`,
        );
    }
  }
  return EXIT_OK;
}

export const reportCommand: Command = {
  summary: 'Parse a DMARC aggregate, TLS or failure report file (report parse <file>)',
  async run(args) {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
    const options = {
      help: { type: 'boolean', short: 'h' },
      summary: { type: 'boolean' },
      json: { type: 'boolean' },
    } as const;
    try {
      parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    } catch (err) {
      process.stderr.write(`mailwarden report: ${(err as Error).message}\n${reportUsage}`);
      return EXIT_USAGE;
    }
    if (parsed.values.help) {
      process.stdout.write(reportUsage);
      return EXIT_OK;
    }
    const [sub, file, ...extra] = parsed.positionals;
    if (sub !== 'parse' || file === undefined || extra.length > 0) {
      process.stderr.write(`mailwarden report: expected "report parse <file>"\n${reportUsage}`);
      return EXIT_USAGE;
    }
    return run(file, parsed.values.summary === true, parsed.values.json === true);
  },
};
