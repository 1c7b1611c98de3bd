/**
 * The COPY stage against the run's real Postgres, as the app role under RLS: why rows are staged
 * (a plain COPY into dmarc_report_rows is refused), that the tenant policy still judges every
 * moved row, that many small moves with writes between them store every row once, that nothing
 * staged outlives its transaction on a pooled connection, and that an abort in the middle of a
 * COPY leaves the connection usable for the ROLLBACK.
 */
import { once } from 'node:events';
import { uuidv7 } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { createTestTenant } from '@mailwarden/testing/db';
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { describe, expect, it } from 'vitest';
import { copyField } from './copy-text.ts';
import { ReportRowStage } from './report-row-stage.ts';
import { db, pool, watch } from './reports.test-helper.ts';

/** A dmarc_reports row to hang rows on (the foreign key), committed. */
async function storedReport(tenantId: string, domainId: string | null): Promise<string> {
  const id = uuidv7();
  await withTenant(db, tenantId, async (tx) => {
    const rawReportId = uuidv7();
    await tx.insert(schema.rawReports).values({
      id: rawReportId,
      tenantId,
      receivedVia: 'upload',
      sha256: rawReportId.replaceAll('-', '').padEnd(64, '0'),
      size: 1,
      bytes: Buffer.from('x'),
      receivedAt: new Date(),
    });
    await tx.insert(schema.dmarcReports).values({
      id,
      tenantId,
      rawReportId,
      source: 'test',
      format: 'rfc7489',
      orgName: 'org',
      email: null,
      reportId: id,
      policyDomain: 'example.com',
      domainId,
      dateBegin: new Date('2026-11-20T00:00:00Z'),
      dateEnd: new Date('2026-11-20T23:59:59Z'),
      policyPublished: {},
      errors: [],
      recordCount: 0,
      messageCount: 0,
      quarantined: domainId === null,
    });
  });
  return id;
}

/** `n` staged rows as COPY text, the i-th with count i + 1 and a hostile reason comment. */
function rows(n: number, from = 0): Uint8Array {
  let text = '';
  for (let i = from; i < from + n; i++)
    text += `2026-11-20\t192.0.2.${(i % 250) + 1}\t${i + 1}\tnone\tpass\tfail\tt\tf\texample.com\t\\N\t[{"type":"other","comment":${copyField(JSON.stringify(`row ${i}\t"x"\\`))}}]\t[]\t[]\n`;
  return Buffer.from(text);
}

/** Runs `fn` on one pooled connection inside a tenant transaction, as withTenant does. */
async function onConnection<T>(
  client: pg.PoolClient,
  tenantId: string,
  fn: () => Promise<T>,
  end: 'commit' | 'rollback' = 'commit',
): Promise<T> {
  await client.query(`begin; select set_config('app.tenant_id', '${tenantId}', true)`);
  try {
    const result = await fn();
    await client.query(end);
    return result;
  } catch (err) {
    await client.query('rollback');
    throw err;
  }
}

async function countRows(tenantId: string): Promise<{ n: number; messages: number }> {
  const result = await withTenant(db, tenantId, (tx) =>
    tx.execute<{ n: string; messages: string }>(
      sql`select count(*) as n, coalesce(sum(count), 0) as messages from dmarc_report_rows`,
    ),
  );
  const row = result.rows[0]!;
  return { n: Number(row.n), messages: Number(row.messages) };
}

describe(ReportRowStage.name, () => {
  it('should be needed: Postgres refuses a plain COPY into dmarc_report_rows under RLS', async () => {
    const tenant = await createTestTenant(db);
    const client = await pool.connect();
    try {
      await expect(
        onConnection(client, tenant.id, async () => {
          const stream = client.query(
            copyFrom(
              'copy dmarc_report_rows (tenant_id, report_id, day, count, dkim_aligned, spf_aligned) from stdin',
            ),
          );
          stream.end();
          await once(stream, 'finish');
        }),
      ).rejects.toThrow(/row-level security/);
    } finally {
      client.release();
    }
  });

  it('should store every row once through many small moves, with writes going on during them', async () => {
    const tenant = await createTestTenant(db);
    const domainId = await watch(tenant.id, 'example.com');
    const reportId = await storedReport(tenant.id, domainId);
    const client = await pool.connect();
    try {
      const moved = await onConnection(client, tenant.id, async () => {
        const stage = await ReportRowStage.open(client, tenant.id, { flushRows: 7, bufferBytes: 300 });
        stage.begin(reportId, domainId);
        for (let i = 0; i < 50; i++) await stage.write(rows(3, i * 3), 3);
        return stage.finish();
      });
      expect(moved).toBe(150);
    } finally {
      client.release();
    }
    expect(await countRows(tenant.id)).toEqual({ n: 150, messages: (150 * 151) / 2 });
    const [first] = await withTenant(db, tenant.id, (tx) =>
      tx.select().from(schema.dmarcReportRows).orderBy(schema.dmarcReportRows.count).limit(1),
    );
    expect(first).toMatchObject({
      tenantId: tenant.id,
      reportId,
      domainId,
      day: '2026-11-20',
      sourceIp: '192.0.2.1',
      count: 1,
      dkimAligned: true,
      spfAligned: false,
      envelopeFrom: null,
      reasons: [{ type: 'other', comment: 'row 0\t"x"\\' }],
    });
  });

  it("should not let rows into another tenant's report: the tenant policy judges the move", async () => {
    const tenantA = await createTestTenant(db);
    const tenantB = await createTestTenant(db);
    const domainB = await watch(tenantB.id, 'example.com');
    const reportB = await storedReport(tenantB.id, domainB);
    const client = await pool.connect();
    try {
      // Tenant A's transaction, staging rows that claim to be tenant B's.
      const attempt = onConnection(client, tenantA.id, async () => {
        const stage = await ReportRowStage.open(client, tenantB.id);
        stage.begin(reportB, domainB);
        await stage.write(rows(5), 5);
        return stage.finish();
      });
      await expect(attempt).rejects.toMatchObject({ code: '42501' });
      await expect(attempt).rejects.toThrow(/row-level security policy/);
    } finally {
      client.release();
    }
    expect(await countRows(tenantA.id)).toEqual({ n: 0, messages: 0 });
    expect(await countRows(tenantB.id)).toEqual({ n: 0, messages: 0 });
  });

  it('should leave nothing staged for the next transaction on the same connection', async () => {
    const tenantA = await createTestTenant(db);
    const tenantB = await createTestTenant(db);
    const domainId = await watch(tenantA.id, 'example.com');
    const reportId = await storedReport(tenantA.id, domainId);
    const client = await pool.connect();
    const staged = async () =>
      Number(
        (await client.query<{ n: string }>('select count(*) as n from pg_temp.mailwarden_report_rows_stage'))
          .rows[0]!.n,
      );
    try {
      // Committed with rows still staged (never moved): ON COMMIT DELETE ROWS empties the stage.
      await onConnection(client, tenantA.id, async () => {
        await ReportRowStage.open(client, tenantA.id);
        const stream = client.query(copyFrom('copy pg_temp.mailwarden_report_rows_stage from stdin'));
        stream.end(rows(20));
        await once(stream, 'finish');
        expect(await staged()).toBe(20);
      });
      expect(await onConnection(client, tenantB.id, staged)).toBe(0);
      // Rolled back after a move: the moved rows and the stage go with the transaction.
      await onConnection(
        client,
        tenantA.id,
        async () => {
          const stage = await ReportRowStage.open(client, tenantA.id, { flushRows: 5 });
          stage.begin(reportId, domainId);
          await stage.write(rows(12), 12);
          expect(await stage.finish()).toBe(12);
        },
        'rollback',
      );
      expect(await onConnection(client, tenantB.id, staged)).toBe(0);
    } finally {
      client.release();
    }
    expect(await countRows(tenantA.id)).toEqual({ n: 0, messages: 0 });
  });

  it.each([
    ['a COPY open', 100, [4]],
    ['a move under way, rows waiting behind it', 10, [10, 4]],
    ['a move done and the next COPY open', 10, [10, 4, 'settle', 3]],
  ] as const)(
    'should leave the connection usable for ROLLBACK when aborted with %s',
    async (_, flushRows, steps) => {
      const tenant = await createTestTenant(db);
      const domainId = await watch(tenant.id, 'example.com');
      const reportId = await storedReport(tenant.id, domainId);
      const client = await pool.connect();
      try {
        await expect(
          onConnection(client, tenant.id, async () => {
            const stage = await ReportRowStage.open(client, tenant.id, { flushRows });
            stage.begin(reportId, domainId);
            let written = 0;
            for (const step of steps) {
              if (step === 'settle') await new Promise((resolve) => setTimeout(resolve, 200));
              else {
                await stage.write(rows(step, written), step);
                written += step;
              }
            }
            const killed = new Error('worker killed');
            await stage.abort(killed);
            throw killed;
          }),
        ).rejects.toThrow('worker killed');
        expect((await client.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
      } finally {
        client.release();
      }
      expect(await countRows(tenant.id)).toEqual({ n: 0, messages: 0 });
    },
  );
});
