/**
 * Issue 6 benchmark, parse half: generated Google-shaped DMARC aggregate reports of 1 000, 80 000
 * and 500 000 records (gzip, as Google sends them) through libs/reports' `readReports`, every
 * record built and normalised, against the ceiling of a plain saxes tokenise of the same bytes
 * (gunzip + decode + saxes with no-op handlers), same run. The store half (COPY into Postgres) is
 * the lead's and adds its own lines.
 *
 * Each measurement runs in a child process of its own (this file with --child), so peak RSS
 * (`resourceUsage().maxRSS`) is that of one parse of one size, and flatness from 80 000 to
 * 500 000 records shows whether memory follows the report or stays put. The reports are made
 * once, gzipped into a temp directory, and read whole by the child (the worker gets raw bytes from
 * Postgres the same way); the compressed bytes are part of the RSS.
 *
 * Lines: ratio parse/tokenise (records/s) per size; figure records/s, MB/s and peak RSS per size;
 * ratio RSS 500k/80k (flat: <= 1.25); ratio records/s against the 100 000/s target.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readReports } from '../libs/reports/src/index.ts';
import { median, printFigure, printRatio } from './lib/report.ts';
import { generateGoogleReport, tokeniseOnce } from './report-kit.ts';

const SIZES = [1_000, 80_000, 500_000];
const TARGET_RECORDS_PER_SECOND = 100_000;
/** Small reports are timed over several runs (median), so JIT warm-up does not dominate. */
const SMALL_REPEATS = 15;

interface ChildResult {
  records: number;
  xmlBytes: number;
  seconds: number;
  maxRssMB: number;
}

async function parseOnce(gz: Buffer): Promise<{ records: number; xmlBytes: number }> {
  let records = 0;
  for await (const event of readReports(gz))
    if (event.type === 'aggregate-records') records += event.records.length;
  return { records, xmlBytes: 0 };
}

async function child(kind: 'parse' | 'tokenise', file: string): Promise<void> {
  const gz = readFileSync(file);
  const run = kind === 'parse' ? parseOnce : tokeniseOnce;
  const small = gz.length < 1024 * 1024;
  const times: number[] = [];
  let out = { records: 0, xmlBytes: 0 };
  for (let i = 0; i < (small ? SMALL_REPEATS : 1); i++) {
    const started = performance.now();
    out = await run(gz);
    times.push((performance.now() - started) / 1000);
  }
  const result: ChildResult = {
    records: out.records,
    xmlBytes: out.xmlBytes,
    seconds: median(times),
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
  process.send?.(result);
}

/**
 * The heap limits a worker_thread running the parse would get (resourceLimits), as V8 flags:
 * the parse's live data is a few batches, so a small young generation caps RSS at little cost.
 */
const WORKER_LIMITS = ['--max-old-space-size=64', '--max-semi-space-size=4'];

function measure(kind: 'parse' | 'tokenise', file: string, execArgv: string[] = []): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const worker = fork(fileURLToPath(import.meta.url), ['--child', kind, file], {
      stdio: 'inherit',
      execArgv,
    });
    let result: ChildResult | undefined;
    worker.on('message', (message) => {
      result = message as ChildResult;
    });
    worker.on('exit', (code) =>
      result && code === 0 ? resolve(result) : reject(new Error(`${kind} child exited ${code}`)),
    );
  });
}

/** The same seed for every size: the 80 000 report is the start of the 500 000 one. */
function generate(records: number, file: string): Promise<void> {
  return generateGoogleReport(file, records);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-report-bench-'));
  try {
    const rss = new Map<number, number>();
    for (const size of SIZES) {
      const file = join(dir, `google-${size}.xml.gz`);
      const madeAt = performance.now();
      await generate(size, file);
      const gzBytes = readFileSync(file).length;
      printFigure(
        'report-parse',
        `generate-${size}`,
        (performance.now() - madeAt) / 1000,
        `s (${(gzBytes / 1048576).toFixed(1)} MB gzip)`,
      );
      // Tokenise first, then parse, alternated over sizes; each in a fresh process.
      const ceiling = await measure('tokenise', file);
      const parsed = await measure('parse', file);
      if (parsed.records !== size || ceiling.records !== size)
        throw new Error(
          `record count mismatch at ${size}: parse ${parsed.records}, tokenise ${ceiling.records}`,
        );
      const parseRate = size / parsed.seconds;
      const tokeniseRate = size / ceiling.seconds;
      printRatio({
        bench: 'report-parse',
        metric: `records-per-second-${size}`,
        candidate: parseRate,
        baseline: tokeniseRate,
        unit: 'records/s (parse / saxes tokenise)',
        better: 'higher',
        target: 0.6,
      });
      printFigure(
        'report-parse',
        `xml-mb-per-second-${size}`,
        ceiling.xmlBytes / 1048576 / parsed.seconds,
        'MB/s',
      );
      printFigure(
        'report-parse',
        `peak-rss-${size}`,
        parsed.maxRssMB,
        `MB (tokenise ${ceiling.maxRssMB.toFixed(1)} MB)`,
      );
      if (size >= 80_000)
        printRatio({
          bench: 'report-parse',
          metric: `target-${size}`,
          candidate: parseRate,
          baseline: TARGET_RECORDS_PER_SECOND,
          unit: 'records/s (parse / 100 000 target)',
          better: 'higher',
          target: 1,
        });
      rss.set(size, parsed.maxRssMB);
      if (size >= 80_000) {
        const limited = await measure('parse', file, WORKER_LIMITS);
        printFigure(
          'report-parse',
          `limited-heap-${size}`,
          limited.maxRssMB,
          `MB peak RSS at ${Math.round(size / limited.seconds)} records/s with ${WORKER_LIMITS.join(' ')}`,
        );
      }
    }
    printRatio({
      bench: 'report-parse',
      metric: 'rss-flat-500000-vs-80000',
      candidate: rss.get(500_000) as number,
      baseline: rss.get(80_000) as number,
      unit: 'MB peak RSS',
      better: 'lower',
      target: 1.25,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child')
  await child(process.argv[3] as 'parse' | 'tokenise', process.argv[4] as string);
else await main();
