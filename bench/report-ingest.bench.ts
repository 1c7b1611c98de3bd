/**
 * Issue 6 benchmark, store half: generated Google-shaped DMARC aggregate reports (gzip) of 1 000,
 * 80 000 and 500 000 records through the product path — `ingestRawReport` as the worker runs it:
 * the raw bytes read with COPY … TO, the parse and the row preparation (daily buckets, alignment,
 * COPY text, lessons) in a worker thread with the worker's default limits, rows COPYed into the
 * session's stage and moved into dmarc_report_rows under RLS, feedback, all in one transaction as
 * the app role — against two ceilings measured in the same run:
 *
 * - tokenise: a plain saxes tokenise of the same bytes (gunzip, decode, no-op handlers), the CPU
 *   ceiling of any saxes-based parse;
 * - psql \copy: the very rows the ingest wrote, exported and COPYed back with psql (text format,
 *   through the client) into dmarc_report_rows itself — same table, indexes and foreign key —
 *   as the superuser, since COPY FROM refuses a table with row-level security; rolled back. Also,
 *   as a figure, into a `LIKE … INCLUDING ALL` copy, which has the indexes but not the foreign key
 *   whose per-row check the real table pays.
 *
 * Every measurement runs in a child process of its own, so the ingest's peak RSS is its own:
 * sampled during the ingest (threads included), beside the RSS the child had once its modules
 * were loaded, before the ingest began. The child runs with the worker's V8 flags
 * (CHILD_NODE_FLAGS). Small reports are ingested five times (fresh raw reports)
 * and the median taken, since thread start-up and JIT dominate them.
 *
 * Lines: ratio ingest/tokenise, ingest/psql copy, ingest/slower ceiling (target >= 0.6) and
 * ingest/100 000 records/s (target >= 1) per size; peak RSS per size and its ratio 500k/80k (flat:
 * <= 1.25); figures for every path. BENCH_INGEST_SIZES overrides the sizes (comma list);
 * BENCH_INGEST_MODE=inprocess parses in the ingest's own thread instead (tests, the CLI).
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock, uuidv7 } from '@mailwarden/core';
import { createDatabase, createPool, schema, withTenant } from '@mailwarden/db';
import { median, printFigure, printRatio } from './lib/report.ts';
import { generateGoogleReport, rssSampler, tokeniseOnce } from './report-kit.ts';

const SIZES = (process.env.BENCH_INGEST_SIZES ?? '1000,80000,500000').split(',').map(Number);
const MODE = process.env.BENCH_INGEST_MODE === 'inprocess' ? 'inprocess' : 'thread';
const TARGET_RECORDS_PER_SECOND = 100_000;
const SMALL_REPEATS = 5;
/**
 * The V8 flags the worker runs with (scripts/start.ts, Dockerfile); BENCH_CHILD_NODE_FLAGS overrides
 * them (an empty value measures Node's defaults, whose module loading alone leaves ~300 MB RSS).
 */
const CHILD_NODE_FLAGS = (process.env.BENCH_CHILD_NODE_FLAGS ?? '--max-semi-space-size=8')
  .split(' ')
  .filter(Boolean);
/** The worker's defaults (REPORT_PARSE_HEAP_MB, REPORT_PARSE_TIMEOUT_MS). */
const THREAD_LIMITS = { maxHeapMb: 256, timeoutMs: 120_000 };
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const COLUMNS =
  'tenant_id, report_id, domain_id, day, source_ip, count, disposition, dkim_evaluated, spf_evaluated, dkim_aligned, spf_aligned, header_from, envelope_from, reasons, dkim_auth, spf_auth';

interface TokeniseResult {
  records: number;
  seconds: number;
}

interface IngestResult {
  rows: number;
  seconds: number;
  /** RSS once the modules were loaded, before the first ingest. */
  loadedMB: number;
  /** Highest RSS sampled while ingesting. */
  peakMB: number;
}

async function tokeniseChild(file: string): Promise<TokeniseResult> {
  const gz = readFileSync(file);
  const times: number[] = [];
  let records = 0;
  for (let i = 0; i < (gz.length < 1024 * 1024 ? SMALL_REPEATS * 3 : 1); i++) {
    const started = performance.now();
    records = (await tokeniseOnce(gz)).records;
    times.push((performance.now() - started) / 1000);
  }
  return { records, seconds: median(times) };
}

async function ingestChild(mode: string, appUrl: string, tenantId: string, rawIds: string[]) {
  const { ingestRawReport } = await import('@mailwarden/monitoring');
  const { threadParser } = await import('../apps/worker/src/processors/report-thread.ts');
  const pool = createPool(appUrl, { max: 2 });
  const db = createDatabase(pool);
  const readEvents = mode === 'thread' ? threadParser(THREAD_LIMITS) : undefined;
  const sampler = rssSampler();
  const loadedMB = process.memoryUsage.rss() / 1048576;
  const times: number[] = [];
  let rows = 0;
  let peakMB = 0;
  try {
    for (const rawId of rawIds) {
      sampler.start();
      const started = performance.now();
      const result = await ingestRawReport({ db, clock: systemClock }, tenantId, rawId, {
        ...(readEvents ? { readEvents } : {}),
      });
      times.push((performance.now() - started) / 1000);
      peakMB = Math.max(peakMB, sampler.stop().peakMB);
      if (result.state !== 'parsed') throw new Error(`ingest gave ${result.state} ${result.errorCode ?? ''}`);
      rows = result.rows;
    }
  } finally {
    await pool.end();
  }
  return { rows, seconds: median(times), loadedMB, peakMB } satisfies IngestResult;
}

function child<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = fork(fileURLToPath(import.meta.url), ['--child', ...args], {
      stdio: 'inherit',
      execArgv: [...process.execArgv, ...CHILD_NODE_FLAGS],
    });
    let result: T | undefined;
    worker.on('message', (message) => {
      result = message as T;
    });
    worker.on('exit', (code) =>
      result !== undefined && code === 0
        ? resolve(result)
        : reject(new Error(`${args[0]} child exited ${code}`)),
    );
  });
}

/** Seconds psql takes to run `commands` in one session (wall clock, psql's start-up included). */
function psql(url: string, ...commands: string[]): number {
  const started = performance.now();
  const args = [url, '-v', 'ON_ERROR_STOP=1', '-q', ...commands.flatMap((c) => ['-c', c])];
  const result = spawnSync('psql', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
  return (performance.now() - started) / 1000;
}

async function storeReports(appUrl: string, file: string, size: number, count: number) {
  const { storeRawReport } = await import('@mailwarden/monitoring');
  const pool = createPool(appUrl, { max: 2 });
  const db = createDatabase(pool);
  try {
    const tenantId = uuidv7();
    await withTenant(db, tenantId, async (tx) => {
      await tx.insert(schema.tenants).values({ id: tenantId, name: `bench ${size}` });
      await tx
        .insert(schema.domains)
        .values({ id: uuidv7(), tenantId, name: 'example.com', verificationToken: 'x' });
    });
    const rawIds: string[] = [];
    for (let i = 0; i < count; i++) {
      if (i > 0) await generateGoogleReport(file, size, 42 + i);
      const stored = await storeRawReport({ db, clock: systemClock }, tenantId, 'upload', readFileSync(file));
      rawIds.push(stored.id);
    }
    return { tenantId, rawIds };
  } finally {
    await pool.end();
  }
}

async function main() {
  // Imported here: the API modules it loads have no business in the measured children.
  const { createBenchDatabase } = await import('./lib/auth-fixture.ts');
  const bench = await createBenchDatabase();
  const adminDbUrl = new URL(ADMIN_URL);
  adminDbUrl.pathname = new URL(bench.appUrl).pathname;
  const admin = adminDbUrl.toString();
  const dir = mkdtempSync(join(tmpdir(), 'mw-ingest-bench-'));
  const peaks = new Map<number, number>();
  try {
    psql(admin, 'create table bench_copy (like dmarc_report_rows including all)');
    for (const size of SIZES) {
      const label = `${size / 1000}k`;
      const file = join(dir, `google-${size}.xml.gz`);
      await generateGoogleReport(file, size);
      const tokenise = await child<TokeniseResult>(['tokenise', file]);
      const repeats = size < 10_000 ? SMALL_REPEATS : 1;
      const { tenantId, rawIds } = await storeReports(bench.appUrl, file, size, repeats);
      const ingest = await child<IngestResult>(['ingest', MODE, bench.appUrl, tenantId, rawIds.join(',')]);
      if (ingest.rows !== size || tokenise.records !== size)
        throw new Error(
          `${size}: the ingest wrote ${ingest.rows} rows, tokenise saw ${tokenise.records} records`,
        );

      // The rows of one ingest, out and back in with psql's \copy, in a transaction rolled back.
      const rows = join(dir, `rows-${size}.txt`);
      psql(
        admin,
        `\\copy (select ${COLUMNS} from dmarc_report_rows where report_id = (select id from dmarc_reports where raw_report_id = '${rawIds[0]}')) to '${rows}'`,
      );
      const copySeconds = psql(
        admin,
        'begin',
        `\\copy dmarc_report_rows (${COLUMNS}) from '${rows}'`,
        'rollback',
      );
      const copyNoFkSeconds = psql(
        admin,
        'begin',
        `\\copy bench_copy (${COLUMNS}) from '${rows}'`,
        'rollback',
      );
      rmSync(rows);

      const ingestRate = size / ingest.seconds;
      const tokeniseRate = size / tokenise.seconds;
      const copyRate = size / copySeconds;
      const ratio = (metric: string, baseline: number, unit: string, target?: number) =>
        printRatio({
          bench: 'report-ingest',
          metric: `${metric}_${label}`,
          candidate: ingestRate,
          baseline,
          unit,
          better: 'higher',
          ...(target === undefined ? {} : { target }),
        });
      ratio('records_per_s_vs_saxes_tokenise', tokeniseRate, 'records/s');
      ratio('records_per_s_vs_psql_copy', copyRate, 'records/s', 0.6);
      ratio('records_per_s_vs_slower_ceiling', Math.min(tokeniseRate, copyRate), 'records/s', 0.6);
      ratio('records_per_s_vs_target', TARGET_RECORDS_PER_SECOND, 'records/s', 1);
      printFigure('report-ingest', `ingest_${MODE}_${label}`, ingestRate, 'records/s');
      printFigure('report-ingest', `saxes_tokenise_${label}`, tokeniseRate, 'records/s');
      printFigure('report-ingest', `psql_copy_${label}`, copyRate, 'records/s');
      printFigure('report-ingest', `psql_copy_without_fk_${label}`, size / copyNoFkSeconds, 'records/s');
      printFigure(
        'report-ingest',
        `ingest_peak_rss_${label}`,
        ingest.peakMB,
        `MB (the child had ${ingest.loadedMB.toFixed(1)} MB with its modules loaded)`,
      );
      peaks.set(size, ingest.peakMB);
    }
    const [small, large] = [peaks.get(80_000), peaks.get(500_000)];
    if (small !== undefined && large !== undefined)
      printRatio({
        bench: 'report-ingest',
        metric: 'peak_rss_flat_500k_vs_80k',
        candidate: large,
        baseline: small,
        unit: 'MB peak RSS',
        better: 'lower',
        target: 1.25,
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await bench.drop();
  }
}

if (process.argv[2] === '--child') {
  const [kind, ...args] = process.argv.slice(3);
  const result =
    kind === 'tokenise'
      ? await tokeniseChild(args[0] as string)
      : await ingestChild(
          args[0] as string,
          args[1] as string,
          args[2] as string,
          (args[3] as string).split(','),
        );
  process.send?.(result);
} else await main();
