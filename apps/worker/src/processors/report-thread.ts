/**
 * Report parsing isolated in a worker thread (issue 6 §2): a V8 heap limit (resourceLimits) and a
 * hard deadline, on top of the parser's own byte, record and time limits. A thread that runs out
 * of memory or time is terminated and the input is refused with a stable `report.*` code, so a
 * hostile file costs one bounded thread, never the worker process.
 *
 * One input at a time per thread. A thread whose parse ended cleanly (all events, or a parse
 * error) waits, idle, for the next input, for up to `idleMs`: starting a thread and loading the
 * parser costs a few hundred milliseconds, more than parsing a typical report. A thread that
 * crashed, ran out of heap or time, or whose consumer stopped reading half-way is terminated and
 * never reused.
 */
import { Worker } from 'node:worker_threads';
import type { PreparedReportEvent } from '@mailwarden/monitoring/report-rows';
import { type ReadReportsOptions, type ReportErrorCode, ReportParseError } from '@mailwarden/reports';
import type { ToThread } from './report-parse.thread.ts';

export interface ThreadParserOptions {
  /** V8 old-generation heap of the thread, in MiB. */
  maxHeapMb: number;
  /** Wall-clock limit of one parse, including time spent waiting for the database. */
  timeoutMs: number;
  /** Events the thread may run ahead of the consumer. */
  window?: number;
  /** Idle threads kept for the next inputs (the worker's report concurrency is a good value). */
  idleThreads?: number;
  /** How long an idle thread waits for another input before it exits. */
  idleMs?: number;
}

type ThreadMessage =
  | { type: 'event'; event: PreparedReportEvent }
  | { type: 'done' }
  | { type: 'parse-error'; code: ReportErrorCode; detail: string }
  | { type: 'crash'; message: string };

const threadUrl = new URL('./report-parse.thread.ts', import.meta.url);

/**
 * The bytes as a view of an ArrayBuffer of their own, which the thread can take over (transfer)
 * without a copy: ingest reads them into such a buffer. A view into a shared pool is copied first,
 * since transferring would detach the pool under everyone else's buffers.
 */
function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const { buffer } = bytes;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength)
    return new Uint8Array(buffer);
  return new Uint8Array(bytes);
}

/** One parser thread and what it has sent for the input it is on. */
class ParserThread {
  readonly worker: Worker;
  readonly #inbox: ThreadMessage[] = [];
  #failure: Error | undefined;
  #exited = false;
  #wake: (() => void) | undefined;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(maxHeapMb: number) {
    this.worker = new Worker(threadUrl, {
      resourceLimits: { maxOldGenerationSizeMb: maxHeapMb, maxYoungGenerationSizeMb: 32 },
      stdout: false,
      stderr: false,
    });
    this.worker.on('message', (message: ThreadMessage) => {
      this.#inbox.push(message);
      this.#notify();
    });
    this.worker.on('error', (err: Error & { code?: string }) => {
      this.#failure =
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new ReportParseError(
              'report.too_large',
              `parsing needed more than the parser's ${maxHeapMb} MiB of memory`,
            )
          : err;
      this.#notify();
    });
    this.worker.on('exit', () => {
      this.#exited = true;
      this.#notify();
    });
  }

  get usable(): boolean {
    return !this.#exited && this.#failure === undefined;
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = undefined;
  }

  /** Fails the parse under way (the deadline) and ends the thread. */
  fail(err: Error): void {
    this.#failure = err;
    void this.worker.terminate();
    this.#notify();
  }

  start(bytes: Uint8Array<ArrayBuffer>, options: ReadReportsOptions, window: number): void {
    clearTimeout(this.#idleTimer);
    this.worker.ref();
    const message: ToThread = { type: 'parse', bytes, options, window };
    this.worker.postMessage(message, [bytes.buffer]);
  }

  async next(): Promise<ThreadMessage> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const message = this.#inbox.shift();
      if (message !== undefined) return message;
      if (this.#exited) throw new Error('the report parser thread ended without an answer');
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  ack(): void {
    const message: ToThread = { type: 'ack' };
    this.worker.postMessage(message);
  }

  /** Parked between inputs: it does not keep the process alive, and leaves after `idleMs`. */
  park(idleMs: number, onExpire: () => void): void {
    this.worker.unref();
    this.#idleTimer = setTimeout(() => {
      onExpire();
      void this.worker.terminate();
    }, idleMs);
    this.#idleTimer.unref();
  }
}

/** A `readEvents` for ingestRawReport that parses in a worker thread. */
export interface ThreadReader {
  (bytes: Uint8Array, options: ReadReportsOptions): AsyncGenerator<PreparedReportEvent>;
  /** Threads started so far (each input not served by an idle thread starts one). */
  readonly threadsStarted: number;
  /** Ends the idle threads. */
  close(): Promise<void>;
}

/**
 * A `readEvents` for ingestRawReport that parses in a worker thread, reusing idle ones. The bytes
 * are transferred to the thread: the caller's buffer is empty afterwards.
 */
export function threadParser(limits: ThreadParserOptions): ThreadReader {
  const idle: ParserThread[] = [];
  const maxIdle = limits.idleThreads ?? 2;
  const idleMs = limits.idleMs ?? 10_000;
  let threadsStarted = 0;

  async function* readInThread(
    bytes: Uint8Array,
    options: ReadReportsOptions,
  ): AsyncGenerator<PreparedReportEvent> {
    let thread = idle.pop();
    if (thread === undefined || !thread.usable) {
      thread = new ParserThread(limits.maxHeapMb);
      threadsStarted++;
    }
    const current = thread;
    current.start(ownBuffer(bytes), options, limits.window ?? 16);
    const timer = setTimeout(
      () =>
        current.fail(
          new ReportParseError('report.deadline_exceeded', `parsing took longer than ${limits.timeoutMs} ms`),
        ),
      limits.timeoutMs,
    );
    // Reused only when the thread said it is through with this input; anything else ends it.
    let reusable = false;
    try {
      for (;;) {
        const message = await current.next();
        if (message.type === 'event') {
          yield message.event;
          current.ack();
        } else if (message.type === 'done') {
          reusable = true;
          return;
        } else if (message.type === 'parse-error') {
          reusable = true;
          throw new ReportParseError(message.code, message.detail);
        } else throw new Error(`report parser thread failed: ${message.message}`);
      }
    } finally {
      clearTimeout(timer);
      if (reusable && current.usable && idle.length < maxIdle) {
        idle.push(current);
        current.park(idleMs, () => {
          const at = idle.indexOf(current);
          if (at !== -1) idle.splice(at, 1);
        });
      } else await current.worker.terminate();
    }
  }

  return Object.defineProperties(readInThread, {
    threadsStarted: { get: () => threadsStarted },
    close: {
      value: async () => {
        const threads = idle.splice(0, idle.length);
        await Promise.all(threads.map((t) => t.worker.terminate()));
      },
    },
  }) as ThreadReader;
}
