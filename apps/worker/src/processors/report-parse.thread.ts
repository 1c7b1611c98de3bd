/**
 * worker_threads entry: parses one input at a time for its parent. For each `parse` message it
 * runs readReports over the bytes, turns the records into COPY text and lessons
 * (prepareReportRows), and posts the events back, at most `window` ahead of the consumer's
 * acknowledgements, so a slow database never makes the thread buffer a whole report. Records
 * never cross the thread boundary: a batch of them costs more to clone than to parse; their rows
 * move as bytes, transferred without a copy. Runs under the resourceLimits its parent sets; the
 * parent reuses it for the next input only once this one ended with `done` or `parse-error`.
 */
import { parentPort } from 'node:worker_threads';
import { prepareReportRows } from '@mailwarden/monitoring/report-rows';
import { isReportParseError, type ReadReportsOptions, readReports } from '@mailwarden/reports';

export type ToThread =
  | { type: 'parse'; bytes: Uint8Array; options: ReadReportsOptions; window: number }
  | { type: 'ack' };

const port = parentPort;
if (!port) throw new Error('report-parse.thread.ts runs only as a worker thread');

let credit = 0;
let wake: (() => void) | undefined;
let busy = false;

async function parse(bytes: Uint8Array, options: ReadReportsOptions): Promise<void> {
  try {
    for await (const event of prepareReportRows(readReports(bytes, options))) {
      while (credit <= 0) await new Promise<void>((resolve) => (wake = resolve));
      credit--;
      port!.postMessage({ type: 'event', event }, event.type === 'aggregate-rows' ? [event.data.buffer] : []);
    }
    port!.postMessage({ type: 'done' });
  } catch (err) {
    if (isReportParseError(err))
      port!.postMessage({ type: 'parse-error', code: err.code, detail: err.detail });
    else port!.postMessage({ type: 'crash', message: err instanceof Error ? err.message : String(err) });
  } finally {
    busy = false;
  }
}

port.on('message', (message: ToThread) => {
  if (message.type === 'ack') {
    credit++;
    wake?.();
    wake = undefined;
    return;
  }
  if (busy) {
    port.postMessage({ type: 'crash', message: 'a parse began before the previous one ended' });
    return;
  }
  busy = true;
  credit = message.window;
  void parse(message.bytes, message.options);
});
