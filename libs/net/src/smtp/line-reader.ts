/**
 * A bounded line reader over a socket, shared by the SMTP, IMAP and POP3 dialogues of the MX probe.
 *
 * A hostile peer must not be able to make the prober hold more than a few kilobytes: one line may
 * be at most `maxLineBytes` (RFC 5321 §4.5.3.1.5 allows 512 octets for a reply line, we accept a
 * few times that) and unread complete lines at most `maxBufferedBytes`. Either limit ends the
 * connection at once — the socket is destroyed, so a 10 MB banner costs one socket read, not
 * 10 MB of memory. Nothing here throws: every outcome is a value.
 */
import type { Socket } from 'node:net';

export interface LineLimits {
  /** Longest line accepted, without its line ending. */
  maxLineBytes: number;
  /** Complete lines received but not yet read, in bytes. */
  maxBufferedBytes: number;
}

export type ReadFailureKind =
  /** The wait for a line ran out (the caller tells tarpit from session timeout). */
  | 'timeout'
  /** The peer closed the connection cleanly. */
  | 'closed'
  | 'reset'
  | 'line_too_long'
  /** The peer sent more unsolicited lines than we buffer. */
  | 'flood'
  | 'network_error';

export interface ReadFailure {
  kind: ReadFailureKind;
  detail: string;
  code?: string;
}

export type LineResult = { ok: true; line: string } | { ok: false; failure: ReadFailure };

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

export class LineReader {
  readonly #socket: Socket;
  readonly #limits: LineLimits;
  #partial: Buffer = EMPTY;
  #lines: string[] = [];
  #queuedBytes = 0;
  #failure: ReadFailure | undefined;
  #waiter: ((r: LineResult) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #detached = false;
  /** Bytes received over the life of the reader. */
  bytesReceived = 0;

  readonly #onData = (chunk: Buffer) => this.#receive(chunk);
  readonly #onEnd = () => this.#fail({ kind: 'closed', detail: 'the peer closed the connection' }, false);
  readonly #onError = (err: NodeJS.ErrnoException) => {
    const code = err.code ?? 'EUNKNOWN';
    const reset = code === 'ECONNRESET' || code === 'EPIPE';
    this.#fail({ kind: reset ? 'reset' : 'network_error', detail: err.message, code }, false);
  };

  constructor(socket: Socket, limits: LineLimits) {
    this.#socket = socket;
    this.#limits = limits;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  /** The next line (line ending removed), or why there is none. One caller at a time. */
  next(timeoutMs: number): Promise<LineResult> {
    const line = this.#lines.shift();
    if (line !== undefined) {
      this.#queuedBytes -= line.length;
      return Promise.resolve({ ok: true, line });
    }
    if (this.#failure) return Promise.resolve({ ok: false, failure: this.#failure });
    return new Promise((resolve) => {
      this.#waiter = resolve;
      this.#timer = setTimeout(
        () => {
          this.#waiter = undefined;
          resolve({ ok: false, failure: { kind: 'timeout', detail: `no line within ${timeoutMs} ms` } });
        },
        Math.max(0, timeoutMs),
      );
    });
  }

  /**
   * Stops reading (before a TLS upgrade takes the socket over) and says how many bytes had
   * arrived that nobody read. After STARTTLS those bytes are plaintext injected before the
   * handshake; RFC 3207 §4.2 says to discard them, and the count is evidence.
   */
  detach(): { unreadBytes: number } {
    const unreadBytes = this.#queuedBytes + this.#partial.length;
    this.#stop();
    // The socket stays owned by the caller; an error on it must still not crash the process.
    this.#socket.on('error', () => {});
    return { unreadBytes };
  }

  #stop(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
    this.#socket.off('error', this.#onError);
    this.#lines = [];
    this.#partial = EMPTY;
    this.#queuedBytes = 0;
  }

  #receive(chunk: Buffer): void {
    if (this.#failure) return;
    this.bytesReceived += chunk.length;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      if (this.#partial.length + piece.length > this.#limits.maxLineBytes + 1) {
        this.#tooLong();
        return;
      }
      let line = this.#partial.length > 0 ? Buffer.concat([this.#partial, piece]) : piece;
      this.#partial = EMPTY;
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      const text = line.toString('utf8');
      this.#lines.push(text);
      this.#queuedBytes += text.length;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (this.#partial.length + rest.length > this.#limits.maxLineBytes + 1) {
      this.#tooLong();
      return;
    }
    if (rest.length > 0) {
      // Copy: keeping a view would pin the whole (up to 64 KiB) socket chunk in memory.
      this.#partial = Buffer.concat([this.#partial, rest]);
    }
    if (this.#queuedBytes > this.#limits.maxBufferedBytes) {
      this.#fail(
        { kind: 'flood', detail: `more than ${this.#limits.maxBufferedBytes} bytes of unread lines` },
        true,
      );
      return;
    }
    this.#deliver();
  }

  #tooLong(): void {
    this.#fail(
      { kind: 'line_too_long', detail: `a line longer than ${this.#limits.maxLineBytes} bytes` },
      true,
    );
  }

  #deliver(): void {
    if (!this.#waiter) return;
    const line = this.#lines.shift();
    if (line === undefined) return;
    this.#queuedBytes -= line.length;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    clearTimeout(this.#timer);
    waiter({ ok: true, line });
  }

  #fail(failure: ReadFailure, destroy: boolean): void {
    if (this.#failure || this.#detached) return;
    this.#failure = failure;
    if (destroy) {
      // Nothing more from this peer is worth reading; drop what is buffered too.
      this.#lines = [];
      this.#queuedBytes = 0;
      this.#partial = EMPTY;
      this.#socket.destroy();
    }
    // Lines already complete stay readable after a clean close; a waiter only hears the failure
    // when there is nothing left to give it.
    this.#deliver();
    if (this.#waiter && this.#lines.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      clearTimeout(this.#timer);
      waiter({ ok: false, failure });
    }
  }
}
