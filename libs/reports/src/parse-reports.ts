/**
 * Everything in an input, in memory: the convenience form of `readReports` for small inputs, the
 * CLI and tests. The worker streams instead (records in batches, straight to bulk writes).
 */
import type { AggregateRecord, AggregateReport } from './aggregate-types.ts';
import type { FailureReport } from './failure.ts';
import { type ReadReportsOptions, type ReportInput, type ReportSource, readReports } from './read-reports.ts';
import type { TlsReport } from './tls-rpt.ts';

export type ParsedReport =
  | { type: 'aggregate'; source: ReportSource; report: AggregateReport }
  | { type: 'tls'; source: ReportSource; report: TlsReport }
  | { type: 'failure'; source: ReportSource; report: FailureReport };

export async function parseReports(
  input: ReportInput,
  options: ReadReportsOptions = {},
): Promise<ParsedReport[]> {
  const out: ParsedReport[] = [];
  let records: AggregateRecord[] = [];
  for await (const event of readReports(input, options)) {
    switch (event.type) {
      case 'aggregate-header':
        records = [];
        break;
      case 'aggregate-records':
        for (const record of event.records) records.push(record);
        break;
      case 'aggregate-end':
        out.push({
          type: 'aggregate',
          source: event.source,
          report: { ...event.header, records, stats: event.stats },
        });
        records = [];
        break;
      case 'tls':
      case 'failure':
        out.push({ type: event.type, source: event.source, report: event.report } as ParsedReport);
        break;
    }
  }
  return out;
}
