/**
 * Report parsing in the worker, against real Redis (own prefix) and Postgres (app role, RLS):
 * stored raw reports become report rows through the `reports` queue with the parse in a worker
 * thread; a poison file is recorded as failed and its job fails for good; the thread's heap limit
 * and deadline refuse what the parser's own limits let through; the sweeper finds lost jobs.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createLogger, systemClock, uuidv7 } from '@mailwarden/core';
import { createDatabase, createPool, type Database, schema, withTenant } from '@mailwarden/db';
import { ingestRawReport, storeRawReport } from '@mailwarden/monitoring';
import {
  allQueueNames,
  createProducer,
  createRedisConnection,
  parseReportJobId,
  queueNames,
} from '@mailwarden/queue';
import { corpusPath } from '@mailwarden/testing/corpus';
import { createTestTenant } from '@mailwarden/testing/db';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './config.ts';
import { threadParser } from './processors/report-thread.ts';
import {
  baseEnv,
  mainPath,
  obliterate,
  postgresUrl,
  redisUrl,
  spawnEntry,
  uniquePrefix,
  waitForJobState,
} from './test-kit.ts';
import { buildWorker, type MailwardenWorker } from './worker.ts';

let pool: ReturnType<typeof createPool>;
let db: Database;
let worker: MailwardenWorker;
const prefix = uniquePrefix();
const clock = systemClock;

beforeAll(async () => {
  pool = createPool(postgresUrl, { max: 6 });
  db = createDatabase(pool);
  const config = loadWorkerConfig({
    ...baseEnv(prefix),
    LOG_LEVEL: 'silent',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    REPORT_PARSE_HEAP_MB: '128',
  });
  worker = buildWorker(config, {
    logger: createLogger('silent', 'reports-test'),
    pool,
    createConnection: (role) => createRedisConnection(redisUrl, role),
  });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  const connection = createRedisConnection(redisUrl, 'producer');
  for (const name of allQueueNames) await obliterate(connection, name, prefix);
  await connection.quit();
  await pool?.end();
});

async function watch(tenantId: string, name: string) {
  const id = uuidv7();
  await withTenant(db, tenantId, (tx) =>
    tx.insert(schema.domains).values({ id, tenantId, name, verificationToken: `t${id.slice(0, 8)}` }),
  );
}

/** What the upload route and the SMTP receiver do: commit, then enqueue. */
async function upload(tenantId: string, bytes: Uint8Array) {
  const stored = await storeRawReport({ db, clock }, tenantId, 'upload', bytes);
  const jobId = parseReportJobId(stored.id);
  await worker.producer.enqueue(
    queueNames.reports,
    'parse-report',
    { tenantId, rawReportId: stored.id },
    { jobId },
  );
  return { stored, jobId };
}

function reportXml(records: number, reportId: string, domain = 'example.com'): string {
  const rows = Array.from(
    { length: records },
    (_, i) =>
      `<record><row><source_ip>192.0.2.${(i % 250) + 1}</source_ip><count>2</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>${domain}</header_from></identifiers><auth_results><dkim><domain>${domain}</domain><result>pass</result></dkim></auth_results></record>`,
  );
  return `<feedback><report_metadata><org_name>Example Receiver</org_name><report_id>${reportId}</report_id><date_range><begin>1795737600</begin><end>1795823999</end></date_range></report_metadata><policy_published><domain>${domain}</domain><p>none</p></policy_published>${rows.join('')}</feedback>`;
}

async function counts(tenantId: string) {
  const result = await withTenant(db, tenantId, (tx) =>
    tx.execute<{ reports: string; rows: string; messages: string }>(
      sql`select (select count(*) from dmarc_reports) as reports, (select count(*) from dmarc_report_rows) as rows,
                 (select coalesce(sum(count), 0) from dmarc_report_rows) as messages`,
    ),
  );
  const row = result.rows[0]!;
  return { reports: Number(row.reports), rows: Number(row.rows), messages: Number(row.messages) };
}

async function rawState(tenantId: string, id: string) {
  const [row] = await withTenant(db, tenantId, (tx) =>
    tx
      .select({ state: schema.rawReports.parseState, code: schema.rawReports.errorCode })
      .from(schema.rawReports)
      .where(eq(schema.rawReports.id, id)),
  );
  return row;
}

describe('the reports queue', () => {
  it('should parse corpus uploads into report rows in the worker', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    const large = readFileSync(
      corpusPath(
        'dmarc-aggregate',
        'parsedmarc',
        'aggregate',
        '!large-example.com!1711897200!1711983600.xml',
      ),
    );
    const gz = gzipSync(reportXml(3_000, 'worker-1'));
    const jobs = [await upload(tenant.id, large), await upload(tenant.id, gz)];
    const queue = worker.producer.queue(queueNames.reports);
    for (const job of jobs)
      expect(await waitForJobState(queue, job.jobId, ['completed', 'failed'], 30_000)).toBe('completed');
    const messages = [...large.toString().matchAll(/<count>\s*(\d+)\s*<\/count>/g)].reduce(
      (s, m) => s + Number(m[1]),
      0,
    );
    expect(await counts(tenant.id)).toEqual({ reports: 2, rows: 2_286 + 3_000, messages: messages + 6_000 });
    // The same bytes again are the same raw report; the redone job changes nothing.
    const again = await upload(tenant.id, gz);
    expect(again.stored).toMatchObject({ id: jobs[1]!.stored.id, duplicate: true, state: 'parsed' });
    expect(await counts(tenant.id)).toMatchObject({ reports: 2 });
  }, 60_000);

  it('should record a poison file as failed and fail its job without retries', async () => {
    const tenant = await createTestTenant(db);
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><feedback>&lol2;</feedback>';
    const { stored, jobId } = await upload(tenant.id, Buffer.from(bomb));
    const queue = worker.producer.queue(queueNames.reports);
    expect(await waitForJobState(queue, jobId, ['completed', 'failed'], 20_000)).toBe('failed');
    const job = await queue.getJob(jobId);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toContain('report.doctype_forbidden');
    expect(await rawState(tenant.id, stored.id)).toEqual({
      state: 'failed',
      code: 'report.doctype_forbidden',
    });
  }, 30_000);

  it('should re-enqueue a raw report whose parse job was lost', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    // Committed a minute and a half ago, never enqueued: the crash between commit and enqueue.
    const stored = await storeRawReport(
      { db, clock: { now: () => new Date(Date.now() - 90_000) } },
      tenant.id,
      'smtp',
      Buffer.from(reportXml(10, 'lost-1')),
    );
    await worker.producer.enqueue(queueNames.scheduler, 'sweep-outbox', {}, { jobId: `sweep-${uuidv7()}` });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await rawState(tenant.id, stored.id))?.state === 'pending')
      await new Promise((r) => setTimeout(r, 100));
    expect(await rawState(tenant.id, stored.id)).toEqual({ state: 'parsed', code: null });
    expect(await counts(tenant.id)).toMatchObject({ reports: 1, rows: 10 });
  }, 30_000);
});

describe('the report parser thread', () => {
  it('should give the same rows as an in-process parse', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    const stored = await storeRawReport(
      { db, clock },
      tenant.id,
      'upload',
      Buffer.from(reportXml(2_500, 'thread-1')),
    );
    const result = await ingestRawReport({ db, clock }, tenant.id, stored.id, {
      readEvents: threadParser({ maxHeapMb: 128, timeoutMs: 30_000, window: 2 }),
    });
    expect(result).toMatchObject({ state: 'parsed', aggregateReports: 1, rows: 2_500 });
    expect(await counts(tenant.id)).toEqual({ reports: 1, rows: 2_500, messages: 5_000 });
  }, 30_000);

  it('should refuse a parse that outlives its deadline, leaving nothing behind', async () => {
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    const stored = await storeRawReport(
      { db, clock },
      tenant.id,
      'upload',
      gzipSync(reportXml(20_000, 'slow-1')),
    );
    const result = await ingestRawReport({ db, clock }, tenant.id, stored.id, {
      readEvents: threadParser({ maxHeapMb: 128, timeoutMs: 1_000, window: 1 }),
      // Each batch waits, as a slow database would: the thread deadline ends the parse.
      onBatch: () => new Promise((r) => setTimeout(r, 400)),
    });
    expect(result).toMatchObject({ state: 'failed', errorCode: 'report.deadline_exceeded' });
    expect(await counts(tenant.id)).toEqual({ reports: 0, rows: 0, messages: 0 });
  }, 30_000);
});

describe('a worker killed mid-parse', () => {
  it('should lose nothing and duplicate nothing: the next worker stores the report once', async () => {
    const killPrefix = uniquePrefix();
    const tenant = await createTestTenant(db);
    await watch(tenant.id, 'example.com');
    const records = 150_000;
    const stored = await storeRawReport(
      { db, clock },
      tenant.id,
      'smtp',
      gzipSync(reportXml(records, 'kill-1')),
    );
    const env = {
      ...baseEnv(killPrefix),
      WORKER_LOCK_DURATION_MS: '1000',
      WORKER_STALLED_INTERVAL_MS: '250',
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    };
    const connection = createRedisConnection(redisUrl, 'producer');
    const attempts = async () => {
      const [row] = await withTenant(db, tenant.id, (tx) =>
        tx
          .select({ attempts: schema.rawReports.attempts })
          .from(schema.rawReports)
          .where(eq(schema.rawReports.id, stored.id)),
      );
      return row?.attempts ?? 0;
    };
    const rowsWritten = async () => {
      // Rows of the open transaction are invisible; pg_stat_activity shows the batch inserts under way.
      const r = await pool.query<{ n: string }>(
        "select count(*) as n from pg_stat_activity where query like '%insert into dmarc_report_rows%' and pid <> pg_backend_pid() and state <> 'idle'",
      );
      return Number(r.rows[0]!.n);
    };
    try {
      const first = spawnEntry(mainPath, env);
      await first.waitForLog('worker ready');
      const producer = createProducer(connection, killPrefix);
      await producer.enqueue(
        queueNames.reports,
        'parse-report',
        { tenantId: tenant.id, rawReportId: stored.id },
        { jobId: parseReportJobId(stored.id) },
      );
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (await attempts()) === 0) await new Promise((r) => setTimeout(r, 20));
      // Past the first batches: rows are being written inside the parse's transaction.
      while (Date.now() < deadline && (await rowsWritten()) === 0)
        await new Promise((r) => setTimeout(r, 10));
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      expect(await counts(tenant.id)).toEqual({ reports: 0, rows: 0, messages: 0 });
      expect(await rawState(tenant.id, stored.id)).toEqual({ state: 'pending', code: null });

      const second = spawnEntry(mainPath, env);
      await second.waitForLog('worker ready');
      try {
        const until = Date.now() + 40_000;
        while (Date.now() < until && (await rawState(tenant.id, stored.id))?.state === 'pending')
          await new Promise((r) => setTimeout(r, 100));
        expect(await rawState(tenant.id, stored.id)).toEqual({ state: 'parsed', code: null });
        expect(await counts(tenant.id)).toEqual({ reports: 1, rows: records, messages: records * 2 });
        expect(await attempts()).toBe(2);
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
      await producer.close();
    } finally {
      for (const name of allQueueNames) await obliterate(connection, name, killPrefix);
      await connection.quit();
    }
  }, 90_000);
});
