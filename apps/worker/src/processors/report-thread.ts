/**
 * Report parsing isolated in a worker thread (issue 6 §2): a V8 heap limit (resourceLimits) and a
 * hard deadline, on top of the parser's own byte, record and time limits. A thread that runs out
 * of memory or time is terminated and the input is refused with a stable `report.*` code, so a
 * hostile file costs one bounded thread, never the worker process.
 */
import { Worker } from 'node:worker_threads';
import {
  type ReadReportsOptions,
  type ReportErrorCode,
  type ReportEvent,
  ReportParseError,
} from '@mailwarden/reports';

export interface ThreadParserOptions {
  /** V8 old-generation heap of the thread, in MiB. */
  maxHeapMb: number;
  /** Wall-clock limit of one parse, including time spent waiting for the database. */
  timeoutMs: number;
  /** Events the thread may run ahead of the consumer. */
  window?: number;
}

type ThreadMessage =
  | { type: 'event'; event: ReportEvent }
  | { type: 'done' }
  | { type: 'parse-error'; code: ReportErrorCode; detail: string }
  | { type: 'crash'; message: string };

const threadUrl = new URL('./report-parse.thread.ts', import.meta.url);

/** A `readEvents` for ingestRawReport that parses in a fresh worker thread per input. */
export function threadParser(limits: ThreadParserOptions) {
  return async function* readInThread(
    bytes: Uint8Array,
    options: ReadReportsOptions,
  ): AsyncGenerator<ReportEvent> {
    // A copy with its own ArrayBuffer: the driver's Buffer may share a pool, which must not be detached.
    const copy = new Uint8Array(bytes);
    const worker = new Worker(threadUrl, {
      workerData: { bytes: copy, options, window: limits.window ?? 16 },
      transferList: [copy.buffer],
      resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb, maxYoungGenerationSizeMb: 32 },
      stdout: false,
      stderr: false,
    });
    const inbox: ThreadMessage[] = [];
    let failure: Error | undefined;
    let exited = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    worker.on('message', (message: ThreadMessage) => {
      inbox.push(message);
      notify();
    });
    worker.on('error', (err: Error & { code?: string }) => {
      failure =
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new ReportParseError(
              'report.too_large',
              `parsing needed more than the parser's ${limits.maxHeapMb} MiB of memory`,
            )
          : err;
      notify();
    });
    worker.on('exit', () => {
      exited = true;
      notify();
    });
    const timer = setTimeout(() => {
      failure = new ReportParseError(
        'report.deadline_exceeded',
        `parsing took longer than ${limits.timeoutMs} ms`,
      );
      void worker.terminate();
      notify();
    }, limits.timeoutMs);
    try {
      for (;;) {
        if (failure) throw failure;
        const message = inbox.shift();
        if (message === undefined) {
          if (exited) throw new Error('the report parser thread ended without an answer');
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        if (message.type === 'event') {
          yield message.event;
          worker.postMessage({ type: 'ack' });
        } else if (message.type === 'done') return;
        else if (message.type === 'parse-error') throw new ReportParseError(message.code, message.detail);
        else throw new Error(`report parser thread failed: ${message.message}`);
      }
    } finally {
      clearTimeout(timer);
      if (!exited) await worker.terminate();
    }
  };
}
