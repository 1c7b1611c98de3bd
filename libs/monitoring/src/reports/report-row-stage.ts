/**
 * Writing report rows with COPY, under row-level security. Postgres refuses `COPY … FROM` into a
 * table with RLS enabled for the role (`COPY FROM not supported with row-level security`), and
 * `dmarc_report_rows` has FORCE ROW LEVEL SECURITY, so rows are COPYed (text format,
 * copy-text.ts) into a temporary table of this session first and moved on every `flushRows` rows
 * by one `INSERT … SELECT`, where the tenant policy's WITH CHECK holds for every row as it always
 * did: a row for another tenant fails the statement and with it the report's transaction.
 *
 * The stage is `ON COMMIT DELETE ROWS` and lives in this connection's temporary schema (nothing
 * of it is visible to other sessions); it is emptied after every move, and a rolled-back
 * transaction leaves nothing in it either. It needs the TEMPORARY privilege on the database,
 * which Postgres grants to PUBLIC by default.
 *
 * Everything runs on the report's own transaction, one statement at a time. While the stage is
 * being moved (the INSERT, then a TRUNCATE), the caller goes on parsing: what it writes meanwhile
 * waits here, up to `bufferBytes`, and goes into the next COPY as soon as the connection is free.
 * write() honours backpressure, from the COPY stream and from that buffer.
 */
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { stagedRowColumns } from './report-rows.ts';

type CopyStream = ReturnType<typeof copyFrom>;

const STAGE = 'pg_temp.mailwarden_report_rows_stage';
const COLUMNS = stagedRowColumns.join(', ');

const CREATE_STAGE = `create temp table if not exists ${STAGE} (
  day date not null, source_ip inet, count integer not null, disposition text,
  dkim_evaluated text, spf_evaluated text, dkim_aligned boolean not null, spf_aligned boolean not null,
  header_from text, envelope_from text, reasons jsonb not null, dkim_auth jsonb not null,
  spf_auth jsonb not null
) on commit delete rows`;

/** The statement that moves staged rows into the table, under the tenant policy's WITH CHECK. */
const MOVE_ROWS = `insert into dmarc_report_rows (tenant_id, report_id, domain_id, ${COLUMNS})
  select $1::uuid, $2::uuid, $3::uuid, ${COLUMNS} from ${STAGE}`;

export interface ReportRowStageOptions {
  /** Rows staged before they are moved: the stage stays within the session's temp buffers. */
  flushRows?: number;
  /** COPY text buffered while the connection is busy moving the previous rows. */
  bufferBytes?: number;
}

export const defaultStageFlushRows = 10_000;
const DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024;

/** Rows of one report at a time, from COPY text to `dmarc_report_rows`. */
export class ReportRowStage {
  readonly #client: ClientBase;
  readonly #tenantId: string;
  readonly #flushRows: number;
  readonly #bufferBytes: number;
  #report: { id: string; domainId: string | null } | null = null;
  #stream: CopyStream | null = null;
  /** Rows written since the last move began (in the open COPY, or waiting for it). */
  #staged = 0;
  /** The move under way; COPY text written meanwhile waits in `#waiting`. */
  #moving: Promise<void> | null = null;
  #waiting: Uint8Array[] = [];
  #waitingBytes = 0;
  #failure: unknown = null;
  #moved = 0;

  private constructor(client: ClientBase, tenantId: string, options: ReportRowStageOptions) {
    this.#client = client;
    this.#tenantId = tenantId;
    this.#flushRows = options.flushRows ?? defaultStageFlushRows;
    this.#bufferBytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
  }

  /** Makes sure this session has the (empty) stage; `client` is in the tenant's transaction. */
  static async open(
    client: ClientBase,
    tenantId: string,
    options: ReportRowStageOptions = {},
  ): Promise<ReportRowStage> {
    await client.query(CREATE_STAGE);
    return new ReportRowStage(client, tenantId, options);
  }

  /** Starts the rows of one aggregate report (its `dmarc_reports` id and watched domain). */
  begin(reportId: string, domainId: string | null): void {
    if (this.#report !== null) throw new Error('the rows of the previous report are not finished');
    this.#report = { id: reportId, domainId };
    this.#moved = 0;
  }

  /** Adds COPY text lines (UTF-8, `stagedRowColumns`, each ending in a newline) holding `rows` rows. */
  async write(data: Uint8Array, rows: number): Promise<void> {
    this.#check();
    if (this.#report === null) throw new Error('write() before begin()');
    if (rows === 0) return;
    this.#staged += rows;
    if (this.#moving !== null) {
      this.#waiting.push(data);
      this.#waitingBytes += data.length;
      if (this.#waitingBytes < this.#bufferBytes && this.#staged < this.#flushRows) return;
      await this.#settleMove();
    } else {
      const stream = this.#stream ?? this.#openCopy();
      if (!stream.write(data)) await drained(stream);
      this.#check();
    }
    if (this.#staged >= this.#flushRows) this.#startMove();
  }

  /** Moves what is left and waits for it: the rows this report wrote. */
  async finish(): Promise<number> {
    if (this.#report === null) throw new Error('finish() before begin()');
    await this.#settleMove();
    this.#startMove();
    await this.#settleMove();
    this.#report = null;
    return this.#moved;
  }

  /**
   * Leaves the connection usable for the caller's ROLLBACK after a failure: an open COPY is
   * failed (CopyFail), since the connection would wait for its end forever, and a move under way
   * is waited for, its errors dropped.
   */
  async abort(reason: unknown): Promise<void> {
    this.#failure ??= reason;
    const stream = this.#stream;
    this.#stream = null;
    this.#waiting = [];
    if (stream !== null && !stream.writableEnded && !stream.destroyed)
      stream.destroy(reason instanceof Error ? reason : new Error('report ingest aborted'));
    await this.#moving?.catch(() => {});
    if (stream !== null) await settled(stream).catch(() => {});
    this.#report = null;
  }

  #check(): void {
    if (this.#failure !== null) throw this.#failure;
  }

  #openCopy(): CopyStream {
    const stream = this.#client.query(
      copyFrom(`copy ${STAGE} (${COLUMNS}) from stdin`, { highWaterMark: this.#bufferBytes }),
    );
    stream.on('error', (err) => {
      this.#failure ??= err;
    });
    this.#stream = stream;
    return stream;
  }

  async #settleMove(): Promise<void> {
    if (this.#moving !== null) await this.#moving;
    this.#check();
  }

  /**
   * Ends the open COPY and, once it is done, moves the stage into the table and empties it; then
   * opens the next COPY with whatever was written meanwhile.
   */
  #startMove(): void {
    const stream = this.#stream;
    const report = this.#report;
    if (stream === null || report === null || this.#moving !== null) return;
    this.#stream = null;
    this.#staged = this.#waitingBytes = 0;
    stream.end();
    const values = [this.#tenantId, report.id, report.domainId];
    this.#moving = (async () => {
      try {
        await settled(stream);
        const moved = await this.#client.query(MOVE_ROWS, values);
        await this.#client.query(`truncate ${STAGE}`);
        this.#moved += moved.rowCount ?? 0;
      } catch (err) {
        this.#failure ??= err;
        throw err;
      } finally {
        this.#moving = null;
      }
      const waiting = this.#waiting;
      this.#waiting = [];
      this.#waitingBytes = 0;
      if (waiting.length === 0) return;
      // Buffered in the stream (it takes the lot; `bufferBytes` bounded it), sent as the COPY starts.
      const next = this.#openCopy();
      for (const data of waiting) next.write(data);
    })();
    // Awaited by write(), finish() or abort(); this only keeps it from counting as unhandled.
    this.#moving.catch(() => {});
  }
}

/** The stream can take more (`drain`), or it failed. */
function drained(stream: CopyStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed) {
      reject(stream.errored ?? new Error('the COPY stream closed'));
      return;
    }
    const done = (err?: unknown) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onDrain = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(stream.errored ?? new Error('the COPY stream closed'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/** Resolves once the COPY finished (its rows are in the stage) and rejects if it failed. */
function settled(stream: CopyStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.writableFinished) {
      resolve();
      return;
    }
    if (stream.destroyed) {
      if (stream.errored) reject(stream.errored);
      else resolve();
      return;
    }
    stream.once('finish', () => resolve());
    stream.once('error', reject);
    stream.once('close', () => (stream.errored ? reject(stream.errored) : resolve()));
  });
}
