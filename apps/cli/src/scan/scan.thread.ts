/**
 * One scan thread of a bulk run (bulk-run.ts): its own DNS client and fetchers, `concurrency`
 * scans in flight over the domains the main thread hands it, output formatted here and sent back
 * in batches with its part of the tally. Asks for the next chunk while it still has work, so it
 * never idles waiting for the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type BulkOutcome, scanDomainOutcome } from './bulk.ts';
import type { BulkJob, FromScanThread, ToScanThread } from './bulk-run.ts';
import { emptyTally, outcomeText, tallyOutcome } from './outcome.ts';
import { createScanRuntime } from './runtime.ts';

/** A batch goes back when it holds this many domains, or after FLUSH_AFTER_MS. */
const FLUSH_AT = 64;
const FLUSH_AFTER_MS = 25;

const port = parentPort;
if (port === null) throw new Error('scan.thread.ts runs as a worker thread of bulk-run.ts');
const job = workerData as BulkJob;
const runtime = createScanRuntime(job.runtime);
const options = { ...runtime.scanOptions, ...job.scan };

const queue: string[] = [];
let ended = false;
let asked = false;
let waiters: (() => void)[] = [];

let text = '';
let tally = emptyTally();
let flushTimer: NodeJS.Timeout | undefined;

const send = (message: FromScanThread) => port.postMessage(message);

function flush(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (tally.scanned === 0) return;
  send({ type: 'out', text, tally });
  text = '';
  tally = emptyTally();
}

function record(outcome: BulkOutcome): void {
  text += outcomeText(outcome, job.format);
  tallyOutcome(tally, outcome, job.failOn);
  if (tally.scanned >= FLUSH_AT) flush();
  else flushTimer ??= setTimeout(flush, FLUSH_AFTER_MS);
}

/** Keeps one request for more domains out whenever fewer than one chunk is queued. */
function askForMore(): void {
  if (asked || ended || queue.length >= job.concurrency) return;
  asked = true;
  send({ type: 'need' });
}

async function nextDomain(): Promise<string | undefined> {
  for (;;) {
    const domain = queue.shift();
    askForMore();
    if (domain !== undefined) return domain;
    if (ended) return undefined;
    await new Promise<void>((resolve) => waiters.push(resolve));
  }
}

port.on('message', (message: ToScanThread) => {
  asked = false;
  if (message.type === 'domains') queue.push(...message.domains);
  else ended = true;
  const woken = waiters;
  waiters = [];
  for (const wake of woken) wake();
  askForMore();
});

await Promise.all(
  Array.from({ length: job.concurrency }, async () => {
    for (let domain = await nextDomain(); domain !== undefined; domain = await nextDomain())
      record(await scanDomainOutcome(domain, options));
  }),
);
flush();
send({ type: 'finished', dns: runtime.dns.stats() });
runtime.close();
port.close();
