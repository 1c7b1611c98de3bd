/**
 * A `scan --file` run over one or more threads. A scan is mostly waiting, but what it does between
 * waits (DNS encoding and parsing, TLS handshakes, the checks, JSON) fills one core at a few
 * hundred domains a second, so a long list is spread over worker threads, each with its own DNS
 * client and fetchers (scan.thread.ts), and the main thread only hands out domains and writes what
 * comes back. A short list runs here, in this thread: starting a thread costs what ~100 scans do.
 *
 * Domains go out on demand, a chunk at a time, so a thread slowed by names that time out takes
 * fewer of them; each thread keeps `concurrency / threads` scans in flight, so the total load on
 * the resolver is what `--concurrency` says whatever the thread count. Threads send their output
 * in batches (a few dozen lines or every 25 ms), already formatted, with their part of the tally.
 * When stdout is slow, no new domains go out until it drains, so memory stays flat.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ScanOptions, Severity } from '@mailwarden/checks';
import type { DnsClientStats } from '@mailwarden/net';
import { MAX_SCAN_THREADS, type OutputFormat } from './args.ts';
import { scanMany } from './bulk.ts';
import { type BulkTally, emptyTally, mergeTally, outcomeText, tallyOutcome } from './outcome.ts';
import { createScanRuntime, type ScanRuntimeSettings } from './runtime.ts';

/** Below this many domains per thread, another thread costs more to start than it saves. */
export const MIN_DOMAINS_PER_THREAD = 250;

/** The scan settings every domain of the run shares: plain data, so a thread can be given them. */
export type BulkScanSettings = Pick<
  ScanOptions,
  'checks' | 'dkimSelectors' | 'probeCommonDkimSelectors' | 'blocklists' | 'deadlineMs'
>;

export interface BulkJob {
  runtime: ScanRuntimeSettings;
  scan: BulkScanSettings;
  format: OutputFormat;
  failOn: Severity | null;
  /** Scans in flight across all threads. */
  concurrency: number;
}

export interface BulkSinks {
  /** Formatted output; a promise returned means "wait before handing out more domains". */
  onText(text: string): undefined | Promise<void>;
  onProgress?(done: number, total: number): void;
}

export interface BulkRunResult {
  tally: BulkTally;
  /** The DNS clients' counters, summed over the threads. */
  dns: DnsClientStats;
  threads: number;
}

/** `--threads` when not given: one per core, but never fewer than MIN_DOMAINS_PER_THREAD each. */
export function defaultThreads(domains: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores, MAX_SCAN_THREADS, Math.floor(domains / MIN_DOMAINS_PER_THREAD)));
}

/** Main thread → scan thread. */
export type ToScanThread = { type: 'domains'; domains: string[] } | { type: 'end' };

/** Scan thread → main thread. */
export type FromScanThread =
  | { type: 'need' }
  | { type: 'out'; text: string; tally: BulkTally }
  | { type: 'finished'; dns: DnsClientStats };

const threadUrl = new URL('./scan.thread.ts', import.meta.url);

function addStats(into: DnsClientStats | undefined, part: DnsClientStats): DnsClientStats {
  if (into === undefined) return { ...part };
  for (const key of Object.keys(part) as (keyof DnsClientStats)[]) into[key] += part[key];
  return into;
}

export async function runBulkScan(
  domains: readonly string[],
  job: BulkJob,
  threads: number,
  sinks: BulkSinks,
): Promise<BulkRunResult> {
  const count = Math.max(1, Math.min(threads, MAX_SCAN_THREADS, domains.length));
  return count === 1 ? runHere(domains, job, sinks) : runThreaded(domains, job, count, sinks);
}

async function runHere(domains: readonly string[], job: BulkJob, sinks: BulkSinks): Promise<BulkRunResult> {
  const runtime = createScanRuntime(job.runtime);
  const tally = emptyTally();
  let draining: Promise<void> | undefined;
  try {
    await scanMany(domains, {
      concurrency: job.concurrency,
      scan: { ...runtime.scanOptions, ...job.scan },
      onOutcome(outcome) {
        tallyOutcome(tally, outcome, job.failOn);
        const wait = sinks.onText(outcomeText(outcome, job.format));
        if (wait) draining = wait.finally(() => (draining = undefined));
      },
      ...(sinks.onProgress ? { onProgress: sinks.onProgress } : {}),
      beforeNext: () => draining,
    });
    return { tally, dns: runtime.dns.stats(), threads: 1 };
  } finally {
    runtime.close();
  }
}

function runThreaded(
  domains: readonly string[],
  job: BulkJob,
  count: number,
  sinks: BulkSinks,
): Promise<BulkRunResult> {
  const perThread = Math.ceil(job.concurrency / count);
  const threadJob: BulkJob = { ...job, concurrency: perThread };
  const tally = emptyTally();
  let stats: DnsClientStats | undefined;
  let next = 0;
  let finished = 0;
  let draining: Promise<void> | undefined;
  const workers: Worker[] = [];

  return new Promise<BulkRunResult>((resolve, reject) => {
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(err);
    };

    const serve = async (worker: Worker) => {
      if (draining) await draining;
      if (failed) return;
      const chunk = domains.slice(next, next + perThread);
      next += chunk.length;
      const message: ToScanThread = chunk.length > 0 ? { type: 'domains', domains: chunk } : { type: 'end' };
      worker.postMessage(message);
    };

    for (let i = 0; i < count; i++) {
      let worker: Worker;
      try {
        worker = new Worker(threadUrl, { workerData: threadJob });
      } catch (err) {
        fail(new Error(`a scan thread could not start: ${(err as Error).message}`));
        return;
      }
      workers.push(worker);
      let done = false;
      worker.on('message', (message: FromScanThread) => {
        switch (message.type) {
          case 'need':
            void serve(worker);
            break;
          case 'out': {
            mergeTally(tally, message.tally);
            const wait = sinks.onText(message.text);
            if (wait) draining = wait.finally(() => (draining = undefined));
            sinks.onProgress?.(tally.scanned, domains.length);
            break;
          }
          case 'finished':
            done = true;
            stats = addStats(stats, message.dns);
            if (++finished === count) resolve({ tally, dns: stats, threads: count });
            break;
        }
      });
      worker.on('error', (err) => fail(new Error(`a scan thread failed: ${err.message}`)));
      worker.on('exit', (code) => {
        if (!done) fail(new Error(`a scan thread ended early (exit code ${code})`));
      });
    }
  });
}
