/**
 * Multi-day aggregate reports into UTC-day buckets, so a week-long report and seven daily ones
 * add up the same per day.
 *
 * The rule: a report spanning at most 25 hours (a day, plus slack for reporters whose "day" is
 * 00:00-00:00 or runs in their own time zone) is counted whole on the UTC day holding the middle
 * of its range. A longer report is spread over every UTC day it overlaps, in proportion to the
 * seconds of overlap; each record's count is split with the largest-remainder method (ties to the
 * earlier day), so the parts are whole numbers that add up to the count exactly, and the split is
 * deterministic.
 */
import type { AggregateRecord, AggregateReport } from './aggregate-types.ts';

const DAY_MS = 86_400_000;
/** Reports up to this long count on one day. */
export const SINGLE_DAY_MAX_MS = 25 * 3_600_000;

export interface DayWeight {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  weight: number;
}

function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The days a date range counts on and the share of each (shares add up to 1). */
export function reportDays(range: { begin: Date; end: Date }): DayWeight[] {
  const begin = range.begin.getTime();
  const end = Math.max(begin, range.end.getTime());
  if (end - begin <= SINGLE_DAY_MAX_MS) return [{ day: dayOf(begin + (end - begin) / 2), weight: 1 }];
  const days: DayWeight[] = [];
  for (let dayStart = Math.floor(begin / DAY_MS) * DAY_MS; dayStart < end; dayStart += DAY_MS) {
    const overlap = Math.min(end, dayStart + DAY_MS) - Math.max(begin, dayStart);
    if (overlap > 0) days.push({ day: dayOf(dayStart), weight: overlap / (end - begin) });
  }
  return days;
}

/** Splits `count` over the days by weight; whole numbers that sum to `count` (largest remainder). */
export function splitCount(count: number, days: readonly DayWeight[]): { day: string; count: number }[] {
  if (days.length === 1) return [{ day: (days[0] as DayWeight).day, count }];
  const exact = days.map((d) => count * d.weight);
  const parts = exact.map(Math.floor);
  let left = count - parts.reduce((sum, n) => sum + n, 0);
  const order = exact
    .map((value, index) => ({ index, fraction: value - Math.floor(value) }))
    .sort((a, b) => b.fraction - a.fraction || a.index - b.index);
  for (const { index } of order) {
    if (left <= 0) break;
    parts[index] = (parts[index] as number) + 1;
    left--;
  }
  return days.map((d, index) => ({ day: d.day, count: parts[index] as number }));
}

export interface DailyBucket {
  day: string;
  /** The report's records with their share of the count (records whose share is 0 left out). */
  records: AggregateRecord[];
  messageCount: number;
}

export function splitIntoDailyBuckets(report: Pick<AggregateReport, 'dateRange' | 'records'>): DailyBucket[] {
  const days = reportDays(report.dateRange);
  const buckets = days.map((d) => ({ day: d.day, records: [] as AggregateRecord[], messageCount: 0 }));
  for (const record of report.records) {
    splitCount(record.count, days).forEach((share, index) => {
      if (share.count === 0) return;
      const bucket = buckets[index] as DailyBucket;
      bucket.records.push(share.count === record.count ? record : { ...record, count: share.count });
      bucket.messageCount += share.count;
    });
  }
  return buckets;
}
