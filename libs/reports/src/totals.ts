/** Running totals over aggregate records, for summaries that never hold the records. */
import type { AggregateRecord } from './aggregate-types.ts';
import { type AlignmentOptions, recordAlignment } from './alignment.ts';

export interface AggregateTotals {
  records: number;
  messages: number;
  /** Messages (sums of counts) by outcome. */
  dmarcPass: number;
  dkimAligned: number;
  spfAligned: number;
  dispositions: Record<string, number>;
  sourceIps: number;
}

export interface TotalsAccumulator {
  add(records: readonly AggregateRecord[]): void;
  totals(): AggregateTotals;
}

/** Distinct source IPs are counted up to this many (then the count is a lower bound). */
const MAX_DISTINCT_IPS = 1_000_000;

export function createTotals(options: AlignmentOptions = {}): TotalsAccumulator {
  const totals: AggregateTotals = {
    records: 0,
    messages: 0,
    dmarcPass: 0,
    dkimAligned: 0,
    spfAligned: 0,
    dispositions: {},
    sourceIps: 0,
  };
  const ips = new Set<string>();
  return {
    add(records) {
      for (const record of records) {
        const alignment = recordAlignment(record, options);
        totals.records++;
        totals.messages += record.count;
        if (alignment.dmarc) totals.dmarcPass += record.count;
        if (alignment.dkim) totals.dkimAligned += record.count;
        if (alignment.spf) totals.spfAligned += record.count;
        const disposition = record.policyEvaluated.disposition ?? 'unknown';
        totals.dispositions[disposition] = (totals.dispositions[disposition] ?? 0) + record.count;
        if (record.sourceIp !== null && ips.size < MAX_DISTINCT_IPS) ips.add(record.sourceIp);
      }
      totals.sourceIps = ips.size;
    },
    totals: () => ({ ...totals, dispositions: { ...totals.dispositions } }),
  };
}
