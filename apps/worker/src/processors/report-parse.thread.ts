/**
 * worker_threads entry: runs readReports over the bytes it is given and posts the events back,
 * at most `window` ahead of the consumer's acknowledgements, so a slow database never makes the
 * thread buffer a whole report. Runs under the resourceLimits its parent sets.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isReportParseError, type ReadReportsOptions, readReports } from '@mailwarden/reports';

interface ThreadInput {
  bytes: Uint8Array;
  options: ReadReportsOptions;
  window: number;
}

const port = parentPort;
if (!port) throw new Error('report-parse.thread.ts runs only as a worker thread');
const { bytes, options, window } = workerData as ThreadInput;

let credit = window;
let wake: (() => void) | undefined;
port.on('message', (message: { type: 'ack' }) => {
  if (message.type !== 'ack') return;
  credit++;
  wake?.();
  wake = undefined;
});

async function run(): Promise<void> {
  try {
    for await (const event of readReports(bytes, options)) {
      while (credit <= 0) await new Promise<void>((resolve) => (wake = resolve));
      credit--;
      port!.postMessage({ type: 'event', event });
    }
    port!.postMessage({ type: 'done' });
  } catch (err) {
    if (isReportParseError(err))
      port!.postMessage({ type: 'parse-error', code: err.code, detail: err.detail });
    else port!.postMessage({ type: 'crash', message: err instanceof Error ? err.message : String(err) });
  } finally {
    port!.close();
  }
}

void run();
