/**
 * Records into COPY rows and lessons, without a database: the rows must be what daily.ts and
 * alignment.ts say (the oracle is splitIntoDailyBuckets and recordAlignment, as the INSERT path
 * used them), the text must decode back to the values, and the lessons must follow report-
 * feedback's rules (own selectors only, aligned senders only, failing sources above the threshold).
 */
import type { AggregateRecord, AggregateReportHeader, ReportEvent } from '@mailwarden/reports';
import { recordAlignment, splitIntoDailyBuckets } from '@mailwarden/reports';
import { describe, expect, it } from 'vitest';
import {
  CopyTextBuffer,
  learntSelectorsMax,
  prepareReportRows,
  ReportLearner,
  ReportRowEncoder,
  stagedRowColumns,
  unknownSourceMinMessages,
} from './report-rows.ts';

function header(begin: string, end: string, domain = 'example.com'): AggregateReportHeader {
  return {
    format: 'rfc7489',
    version: null,
    orgName: 'receiver.example',
    email: null,
    extraContactInfo: null,
    reportId: 'r-1',
    dateRange: { begin: new Date(begin), end: new Date(end) },
    errors: [],
    generator: null,
    policyPublished: {
      domain,
      adkim: 's',
      aspf: null,
      p: 'none',
      sp: null,
      pct: null,
      np: null,
      fo: null,
      testing: null,
      discoveryMethod: null,
    },
  };
}

function record(
  over: Partial<AggregateRecord> & { ip?: string | null; count?: number } = {},
): AggregateRecord {
  return {
    sourceIp: over.ip === undefined ? '192.0.2.1' : over.ip,
    count: over.count ?? 1,
    policyEvaluated: over.policyEvaluated ?? { disposition: 'none', dkim: 'pass', spf: 'fail', reasons: [] },
    identifiers: over.identifiers ?? { headerFrom: 'example.com', envelopeFrom: null, envelopeTo: null },
    authResults: over.authResults ?? {
      dkim: [{ domain: 'example.com', selector: 's1', result: 'pass', humanResult: null }],
      spf: [{ domain: 'bounce.example.net', scope: 'mfrom', result: 'pass', humanResult: null }],
    },
  };
}

/** The COPY text format read back (the inverse of copy-text.ts), one object per line. */
function decodeRows(data: Uint8Array): Record<string, unknown>[] {
  const text = Buffer.from(data).toString('utf8');
  expect(text.endsWith('\n') || text === '').toBe(true);
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const fields = line
        .split('\t')
        .map((f) =>
          f === '\\N' ? null : f.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r' })[c] ?? c),
        );
      expect(fields).toHaveLength(stagedRowColumns.length);
      const row: Record<string, unknown> = Object.fromEntries(stagedRowColumns.map((c, i) => [c, fields[i]]));
      for (const c of ['reasons', 'dkim_auth', 'spf_auth']) row[c] = JSON.parse(row[c] as string);
      row.count = Number(row.count);
      return row;
    });
}

/** What the INSERT … unnest path stored for these records: the oracle. */
function expectedRows(h: AggregateReportHeader, records: AggregateRecord[]) {
  const options = { adkim: h.policyPublished.adkim, aspf: h.policyPublished.aspf };
  return splitIntoDailyBuckets({ dateRange: h.dateRange, records }).flatMap((bucket) =>
    bucket.records.map((r) => {
      const alignment = recordAlignment(r, options);
      return {
        day: bucket.day,
        source_ip: r.sourceIp,
        count: r.count,
        disposition: r.policyEvaluated.disposition,
        dkim_evaluated: r.policyEvaluated.dkim,
        spf_evaluated: r.policyEvaluated.spf,
        dkim_aligned: alignment.dkim ? 't' : 'f',
        spf_aligned: alignment.spf ? 't' : 'f',
        header_from: r.identifiers.headerFrom,
        envelope_from: r.identifiers.envelopeFrom,
        reasons: r.policyEvaluated.reasons,
        dkim_auth: r.authResults.dkim,
        spf_auth: r.authResults.spf,
      };
    }),
  );
}

const byKey = (rows: Record<string, unknown>[]) =>
  [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe(ReportRowEncoder.name, () => {
  const hostile = record({
    ip: '2001:db8::1',
    count: 7,
    policyEvaluated: {
      disposition: 'quar\tantine',
      dkim: 'fail',
      spf: 'fail',
      reasons: [{ type: 'local_policy', comment: 'tab\there, "quoted", back\\slash\nnew line \\N' }],
    },
    identifiers: { headerFrom: 'example.com', envelopeFrom: 'odd\\domain', envelopeTo: null },
    authResults: {
      dkim: [
        { domain: 'example.com', selector: null, result: 'fail', humanResult: 'body hash\tdid not verify' },
      ],
      spf: [],
    },
  });

  it('should write one row per record on a one-day report, as the INSERT path did', () => {
    const h = header('2026-11-20T00:00:00Z', '2026-11-20T23:59:59Z');
    const records = [record(), hostile, record({ ip: null, count: 3 }), record({ count: 0 })];
    const out = new CopyTextBuffer();
    new ReportRowEncoder(h).encode(records, out);
    expect(out.rows).toBe(3);
    const rows = decodeRows(out.take());
    expect(byKey(rows)).toEqual(byKey(expectedRows(h, records)));
    expect(rows.map((r) => r.day)).toEqual(['2026-11-20', '2026-11-20', '2026-11-20']);
  });

  it('should split a multi-day report into daily rows whose counts add up exactly', () => {
    const h = header('2026-11-20T06:00:00Z', '2026-11-23T18:00:00Z');
    const records = [record({ count: 1 }), record({ ip: '192.0.2.2', count: 1000 }), hostile];
    const out = new CopyTextBuffer();
    new ReportRowEncoder(h).encode(records, out);
    const rows = decodeRows(out.take());
    expect(byKey(rows)).toEqual(byKey(expectedRows(h, records)));
    expect(new Set(rows.map((r) => r.day))).toEqual(
      new Set(['2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23']),
    );
    expect(rows.reduce((sum, r) => sum + (r.count as number), 0)).toBe(1008);
    expect(rows.every((r) => (r.count as number) > 0)).toBe(true);
  });

  it('should grow its buffer for rows longer than it', () => {
    const h = header('2026-11-20T00:00:00Z', '2026-11-20T23:59:59Z');
    const comment = `${'ü\t'.repeat(300_000)}end`;
    const big = record({
      policyEvaluated: {
        disposition: 'none',
        dkim: 'pass',
        spf: 'pass',
        reasons: [{ type: 'other', comment }],
      },
    });
    const out = new CopyTextBuffer();
    const encoder = new ReportRowEncoder(h);
    encoder.encode([record(), big, record()], out);
    const rows = decodeRows(out.take());
    expect(rows).toHaveLength(3);
    expect(rows[1]!.reasons).toEqual([{ type: 'other', comment }]);
    expect(out.rows).toBe(0);
    expect(out.size).toBe(0);
  });
});

describe(ReportLearner.name, () => {
  it("should learn the domain's own selectors, aligned senders and heavy failing sources", () => {
    const learner = new ReportLearner('Example.COM');
    const signed = (domain: string, selector: string) => ({
      dkim: [{ domain, selector, result: 'pass', humanResult: null }],
      spf: [],
    });
    learner.learn(record({ ip: '192.0.2.1', authResults: signed('example.com', 'Sel1') }), true);
    learner.learn(record({ ip: '192.0.2.2', authResults: signed('mail.example.com', 's2') }), true);
    learner.learn(record({ ip: '198.51.100.1', authResults: signed('esp.example.net', 'esp') }), false);
    learner.learn(record({ ip: '198.51.100.1', count: unknownSourceMinMessages - 1 }), false);
    learner.learn(record({ ip: '198.51.100.2', count: unknownSourceMinMessages - 1 }), false);
    learner.learn(
      record({ ip: null, count: 500, authResults: signed('example.com', 'bad selector!') }),
      false,
    );
    const summary = learner.summary();
    expect(summary.selectors.sort()).toEqual(['s1', 's2', 'sel1']);
    expect(summary.ips.sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(summary.failing).toEqual([['198.51.100.1', unknownSourceMinMessages]]);
  });

  it(`should keep at most ${learntSelectorsMax} selectors`, () => {
    const learner = new ReportLearner('example.com');
    for (let i = 0; i < learntSelectorsMax + 10; i++)
      learner.learn(
        record({
          authResults: {
            dkim: [{ domain: 'example.com', selector: `k${i}`, result: 'pass', humanResult: null }],
            spf: [],
          },
        }),
        true,
      );
    expect(learner.summary().selectors).toHaveLength(learntSelectorsMax);
  });
});

describe('prepareReportRows', () => {
  it('should turn record batches into row events of about rowsPerEvent rows, and end with the lessons', async () => {
    const h = header('2026-11-20T00:00:00Z', '2026-11-20T23:59:59Z');
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => record({ ip: `192.0.2.${from + i}`, count: 200 }));
    const events: ReportEvent[] = [
      { type: 'aggregate-header', source: 'input', header: h },
      { type: 'aggregate-records', source: 'input', records: batch(1, 30) },
      { type: 'aggregate-records', source: 'input', records: batch(31, 30) },
      { type: 'aggregate-records', source: 'input', records: batch(61, 5) },
      {
        type: 'aggregate-end',
        source: 'input',
        header: h,
        stats: { recordCount: 65, messageCount: 13_000, skippedRecords: 0, warnings: [], warningCount: 0 },
      },
    ];
    async function* source() {
      yield* events;
    }
    const prepared = [];
    for await (const event of prepareReportRows(source(), { rowsPerEvent: 50 })) prepared.push(event);
    expect(prepared.map((e) => (e.type === 'aggregate-rows' ? `rows ${e.rows}` : e.type))).toEqual([
      'aggregate-header',
      'rows 60',
      'rows 5',
      'aggregate-end',
    ]);
    const rows = prepared.flatMap((e) => (e.type === 'aggregate-rows' ? decodeRows(e.data) : []));
    expect(rows.map((r) => r.source_ip)).toEqual(batch(1, 65).map((r) => r.sourceIp));
    const end = prepared.at(-1);
    expect(end?.type === 'aggregate-end' && end.learning.ips.length).toBe(65);
    expect(end?.type === 'aggregate-end' && end.learning.selectors).toEqual(['s1']);
  });
});
