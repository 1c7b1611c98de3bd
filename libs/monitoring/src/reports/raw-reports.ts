/**
 * Intake storage (issue 6 §1): the raw bytes of a report are committed, with their SHA-256, before
 * anyone acknowledges them (SMTP 250, HTTP 202). The same bytes twice for one tenant are one raw
 * report; only then is a parse job enqueued, after the commit (DESIGN.md §5).
 */
import { createHash, randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { AppError, type Clock, uuidv7 } from '@mailwarden/core';
import {
  type Database,
  maxRawReportBytes,
  type RawReportState,
  type ReportIntake,
  schema,
  withTenant,
} from '@mailwarden/db';
import { and, eq, sql } from 'drizzle-orm';
import type { ClientBase } from 'pg';
import { to as copyTo } from 'pg-copy-streams';

export interface StoredRawReport {
  id: string;
  /** The tenant already had these exact bytes; `id` is the earlier raw report. */
  duplicate: boolean;
  /** The state of the stored row: `pending` for new bytes; for a duplicate, wherever it got to. */
  state: RawReportState;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Commits `bytes` as a pending raw report. Concurrent stores of the same bytes meet on the unique
 * (tenant_id, sha256) key: one inserts, the other gets the same id back as a duplicate.
 */
export async function storeRawReport(
  deps: { db: Database; clock: Clock },
  tenantId: string,
  via: ReportIntake,
  bytes: Uint8Array,
): Promise<StoredRawReport> {
  if (bytes.length === 0) throw new AppError('validation_failed', { detail: 'the report is empty' });
  if (bytes.length > maxRawReportBytes)
    throw new AppError('payload_too_large', {
      detail: `a report may be at most ${maxRawReportBytes} bytes; this one is ${bytes.length}`,
    });
  const sha256 = sha256Hex(bytes);
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const { rawReports } = schema;
  const now = deps.clock.now();
  return withTenant(deps.db, tenantId, async (tx) => {
    const [inserted] = await tx
      .insert(rawReports)
      .values({
        id: uuidv7(now.getTime()),
        tenantId,
        receivedVia: via,
        sha256,
        size: buffer.length,
        bytes: buffer,
        receivedAt: now,
      })
      .onConflictDoNothing({ target: [rawReports.tenantId, rawReports.sha256] })
      .returning({ id: rawReports.id });
    if (inserted) return { id: inserted.id, duplicate: false, state: 'pending' as const };
    // The row that won exists and is committed (ON CONFLICT waited for it), so it is visible here.
    const [existing] = await tx
      .select({ id: rawReports.id, state: rawReports.parseState })
      .from(rawReports)
      .where(and(eq(rawReports.tenantId, tenantId), eq(rawReports.sha256, sha256)));
    if (!existing) throw new Error('raw report conflict without a row');
    return { id: existing.id, duplicate: true, state: existing.state };
  });
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** `PGCOPY\n\377\r\n\0`, the flags field and the header extension length (COPY binary format). */
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const COPY_HEADER_BYTES = COPY_SIGNATURE.length + 8;

/**
 * Reads the bytes of COPY binary output of one bytea column (PostgreSQL docs, COPY, "Binary
 * Format"): header, then per row a field count and the field's length and bytes, then -1. The
 * value lands in a buffer of its own, allocated once at its exact length.
 */
class ByteaCopyReader {
  /** The fixed-size field being gathered (header, field count and length). */
  #head = Buffer.alloc(0);
  #value: Buffer | null = null;
  #filled = 0;
  #state: 'header' | 'row' | 'value' | 'done' = 'header';

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#state === 'done') throw new Error('COPY output continues after its trailer');
      if (this.#state === 'value') {
        const value = this.#value as Buffer;
        const n = Math.min(value.length - this.#filled, chunk.length - at);
        chunk.copy(value, this.#filled, at, at + n);
        this.#filled += n;
        at += n;
        if (this.#filled === value.length) this.#state = 'row';
        continue;
      }
      const need = this.#needed();
      const take = Math.min(need - this.#head.length, chunk.length - at);
      this.#head = Buffer.concat([this.#head, chunk.subarray(at, at + take)]);
      at += take;
      if (this.#head.length === need) this.#decode();
    }
  }

  /** Bytes the next fixed field takes, as far as the bytes gathered so far tell. */
  #needed(): number {
    const head = this.#head;
    if (this.#state === 'header')
      return head.length < COPY_HEADER_BYTES
        ? COPY_HEADER_BYTES
        : COPY_HEADER_BYTES + head.readUInt32BE(COPY_SIGNATURE.length + 4);
    // A row: its field count (-1 ends the data), then the field's length.
    return head.length < 2 || head.readInt16BE(0) === -1 ? 2 : 6;
  }

  #decode(): void {
    const head = this.#head;
    if (this.#state === 'header') {
      if (!head.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE))
        throw new Error('COPY binary output has no PGCOPY signature');
      // The extension length is known only now: gather the extension too, then start the rows.
      if (head.length < this.#needed()) return;
      this.#state = 'row';
    } else if (head.length === 2) {
      const fields = head.readInt16BE(0);
      if (fields === -1) this.#state = 'done';
      else if (fields !== 1) throw new Error(`COPY binary row has ${fields} fields, not 1`);
      else return;
    } else {
      const length = head.readInt32BE(2);
      if (length < 0) throw new Error('raw report bytes are NULL');
      if (this.#value !== null) throw new Error('COPY output holds more than one raw report');
      // Not from the pool: the buffer owns its ArrayBuffer, so a parser thread can take it whole.
      this.#value = Buffer.allocUnsafeSlow(length);
      this.#filled = 0;
      this.#state = length === 0 ? 'row' : 'value';
    }
    this.#head = Buffer.alloc(0);
  }

  value(): Buffer | null {
    if (this.#state !== 'done') throw new Error('COPY output ended before its trailer');
    return this.#value;
  }
}

/**
 * The bytes of one raw report, read with `COPY (select …) TO STDOUT (FORMAT binary)` on `client`
 * (the caller's transaction; RLS applies to the query). Streaming them this way holds them once,
 * at their size, where a plain select holds the hex text of the bytea, twice over, and then the
 * bytes. Undefined when there is no such raw report for the tenant.
 */
export async function readRawReportBytes(client: ClientBase, id: string): Promise<Buffer | undefined> {
  if (!UUID_RE.test(id)) throw new Error('readRawReportBytes needs a raw report uuid');
  const reader = new ByteaCopyReader();
  const stream = client.query(
    copyTo(`copy (select bytes from raw_reports where id = '${id}') to stdout (format binary)`),
  );
  await pipeline(stream, async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) reader.push(chunk);
  });
  return reader.value() ?? undefined;
}

export interface RawReportStatus {
  id: string;
  receivedVia: ReportIntake;
  sha256: string;
  size: number;
  receivedAt: Date;
  state: RawReportState;
  errorCode: string | null;
  errorDetail: string | null;
  parsedAt: Date | null;
}

/** One raw report's status (never its bytes); undefined for a missing or foreign id. */
export async function rawReportStatus(
  db: Database,
  tenantId: string,
  id: string,
): Promise<RawReportStatus | undefined> {
  const { rawReports } = schema;
  const [row] = await withTenant(db, tenantId, (tx) =>
    tx
      .select({
        id: rawReports.id,
        receivedVia: rawReports.receivedVia,
        sha256: rawReports.sha256,
        size: rawReports.size,
        receivedAt: rawReports.receivedAt,
        state: rawReports.parseState,
        errorCode: rawReports.errorCode,
        errorDetail: rawReports.errorDetail,
        parsedAt: rawReports.parsedAt,
      })
      .from(rawReports)
      .where(eq(rawReports.id, id)),
  );
  return row;
}

/**
 * Raw reports still pending after `before`: their parse job was lost (a crash between commit and
 * enqueue, Redis emptied). Read across tenants through the definer function of migration 0007.
 */
export async function pendingRawReports(
  db: Database,
  before: Date,
  limit = 1_000,
): Promise<{ tenantId: string; rawReportId: string }[]> {
  const result = await db.execute<{ tenant_id: string; raw_report_id: string }>(
    sql`select tenant_id, raw_report_id from mailwarden_pending_raw_reports(${before.toISOString()}::timestamptz, ${limit})`,
  );
  return result.rows.map((r) => ({ tenantId: r.tenant_id, rawReportId: r.raw_report_id }));
}

/** Report address tokens: 26 base-36 characters (~134 bits), lower case so mail routing cannot change them. */
export function newReportAddressToken(): string {
  const bytes = randomBytes(26);
  let out = '';
  for (const b of bytes) out += (b % 36).toString(36);
  return out;
}

/** The tenant's report address token, created on first use. */
export async function ensureReportAddress(db: Database, tenantId: string): Promise<string> {
  const { reportAddresses } = schema;
  return withTenant(db, tenantId, async (tx) => {
    await tx
      .insert(reportAddresses)
      .values({ token: newReportAddressToken(), tenantId })
      .onConflictDoNothing({ target: reportAddresses.tenantId });
    const [row] = await tx.select({ token: reportAddresses.token }).from(reportAddresses);
    if (!row) throw new Error('report address missing after insert');
    return row.token;
  });
}

const TOKEN_RE = /^[a-z0-9]{16,64}$/;

/** The tenant a report address token belongs to (the SMTP receiver at RCPT TO), or undefined. */
export async function tenantForReportAddress(db: Database, token: string): Promise<string | undefined> {
  const normalised = token.toLowerCase();
  if (!TOKEN_RE.test(normalised)) return undefined;
  const result = await db.execute<{ tenant_id: string | null }>(
    sql`select mailwarden_report_address_tenant(${normalised}) as tenant_id`,
  );
  return result.rows[0]?.tenant_id ?? undefined;
}
