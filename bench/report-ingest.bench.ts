/**
 * Issue 6 benchmark, store half: generated Google-shaped DMARC aggregate reports (gzip) of 1 000,
 * 80 000 and 500 000 records through the product path — `ingestRawReport`: readReports, daily
 * buckets, alignment, and multi-row `INSERT … SELECT FROM unnest(…)` batches of 1 000 rows, all in
 * one transaction as the app role under RLS — against two baselines measured in the same run:
 *
 * - the parse alone (readReports over the same bytes, nothing stored): the CPU ceiling;
 * - `psql \copy` of the very rows the ingest wrote, into a table of the same shape and indexes
 *   (as the superuser: COPY FROM refuses tables with row-level security, so neither the app role
 *   nor the owner could COPY into dmarc_report_rows itself): the write ceiling.
 *
 * Lines: ratio ingest/parse and ingest/copy (records/s) per size; the records/s target of
 * 100 000/s end to end; figures records/s per path and the process's peak RSS so far (a high-water
 * mark: run one size with BENCH_INGEST_SIZES=500000 to see that size alone). BENCH_INGEST_SIZES
 * overrides the sizes (comma list).
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceUsage } from 'node:process';
import { createGzip } from 'node:zlib';
import { systemClock, uuidv7 } from '@mailwarden/core';
import { createDatabase, createPool, schema, withTenant } from '@mailwarden/db';
import { ingestRawReport, storeRawReport } from '@mailwarden/monitoring';
import { readReports } from '@mailwarden/reports';
import { sql } from 'drizzle-orm';
import { googleReportPieces } from '../libs/reports/src/test-kit.ts';
import { createBenchDatabase } from './lib/auth-fixture.ts';
import { printFigure, printRatio } from './lib/report.ts';

const SIZES = (process.env.BENCH_INGEST_SIZES ?? '1000,80000,500000').split(',').map(Number);
const TARGET_RECORDS_PER_SECOND = 100_000;
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const COLUMNS =
  'tenant_id, report_id, domain_id, day, source_ip, count, disposition, dkim_evaluated, spf_evaluated, dkim_aligned, spf_aligned, header_from, envelope_from, reasons, dkim_auth, spf_auth';

/** Gzipped as it is generated, so the harness never holds the XML and the RSS figure is the ingest's. */
async function report(records: number, seed: number): Promise<Buffer> {
  const gzip = createGzip();
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = once(gzip, 'end');
  for (const piece of googleReportPieces({ records, reportId: `bench-${seed}-${records}` }, seed))
    if (!gzip.write(piece)) await once(gzip, 'drain');
  gzip.end();
  await ended;
  return Buffer.concat(chunks);
}

async function parseOnly(gz: Buffer): Promise<{ records: number; seconds: number }> {
  const started = performance.now();
  let records = 0;
  for await (const event of readReports(gz))
    if (event.type === 'aggregate-records') records += event.records.length;
  return { records, seconds: (performance.now() - started) / 1000 };
}

function psql(url: string, command: string): number {
  const started = performance.now();
  const result = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', command], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
  return (performance.now() - started) / 1000;
}

async function main() {
  const bench = await createBenchDatabase();
  const adminDbUrl = new URL(ADMIN_URL);
  adminDbUrl.pathname = new URL(bench.appUrl).pathname;
  const pool = createPool(bench.appUrl, { max: 4 });
  const db = createDatabase(pool);
  const dir = mkdtempSync(join(tmpdir(), 'mw-ingest-bench-'));
  try {
    psql(adminDbUrl.toString(), 'create table bench_copy (like dmarc_report_rows including all)');
    for (const [index, size] of SIZES.entries()) {
      const gz = await report(size, index + 1);
      // Warm the parser once on small inputs, so the JIT does not count against the smallest size.
      if (size < 10_000) for (let i = 0; i < 5; i++) await parseOnly(gz);
      const parse = await parseOnly(gz);

      const tenantId = uuidv7();
      await withTenant(db, tenantId, async (tx) => {
        await tx.insert(schema.tenants).values({ id: tenantId, name: `bench ${size}` });
        await tx
          .insert(schema.domains)
          .values({ id: uuidv7(), tenantId, name: 'example.com', verificationToken: 'x' });
      });
      const stored = await storeRawReport({ db, clock: systemClock }, tenantId, 'upload', gz);
      const started = performance.now();
      const result = await ingestRawReport({ db, clock: systemClock }, tenantId, stored.id);
      const ingestSeconds = (performance.now() - started) / 1000;
      if (result.state !== 'parsed' || result.rows !== size)
        throw new Error(`ingest of ${size} gave ${result.state} with ${result.rows} rows`);

      // The same rows, out and back in with psql's \copy (CSV through the client, as an operator would).
      const file = join(dir, `rows-${size}.csv`);
      psql(
        adminDbUrl.toString(),
        `\\copy (select ${COLUMNS} from dmarc_report_rows where tenant_id = '${tenantId}') to '${file}' csv`,
      );
      const copySeconds = psql(adminDbUrl.toString(), `\\copy bench_copy (${COLUMNS}) from '${file}' csv`);

      const ingestRate = size / ingestSeconds;
      const label = `${size / 1000}k`;
      printRatio({
        bench: 'report-ingest',
        metric: `records_per_s_vs_parse_${label}`,
        candidate: ingestRate,
        baseline: parse.records / parse.seconds,
        unit: 'records/s',
        better: 'higher',
      });
      printRatio({
        bench: 'report-ingest',
        metric: `records_per_s_vs_psql_copy_${label}`,
        candidate: ingestRate,
        baseline: size / copySeconds,
        unit: 'records/s',
        better: 'higher',
        target: 0.6,
      });
      printRatio({
        bench: 'report-ingest',
        metric: `records_per_s_vs_target_${label}`,
        candidate: ingestRate,
        baseline: TARGET_RECORDS_PER_SECOND,
        unit: 'records/s',
        better: 'higher',
        target: 1,
      });
      printFigure('report-ingest', `parse_${label}`, parse.records / parse.seconds, 'records/s');
      printFigure('report-ingest', `ingest_${label}`, ingestRate, 'records/s');
      printFigure('report-ingest', `psql_copy_${label}`, size / copySeconds, 'records/s');
      printFigure('report-ingest', `peak_rss_after_${label}`, resourceUsage().maxRSS / 1024, 'MB');
      await withTenant(db, tenantId, (tx) => tx.execute(sql`delete from raw_reports`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await pool.end();
    await bench.drop();
  }
}

await main();
