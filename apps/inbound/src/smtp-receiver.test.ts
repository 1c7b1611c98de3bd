/**
 * The report SMTP receiver driven by real SMTP clients (nodemailer, and swaks from Debian) over
 * STARTTLS with a certificate from the test CA, against the run's Postgres (app role, RLS) and a
 * real BullMQ queue of its own prefix. Nothing is mocked.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger, systemClock, uuidv7 } from '@mailwarden/core';
import { type Database, schema, withTenant } from '@mailwarden/db';
import { ensureReportAddress, ingestRawReport, sha256Hex } from '@mailwarden/monitoring';
import {
  createProducer,
  createRedisConnection,
  parseReportJobId,
  queueNames,
  type RedisConnection,
} from '@mailwarden/queue';
import { corpusPath } from '@mailwarden/testing/corpus';
import { createTestTenant, openTestDatabase } from '@mailwarden/testing/db';
import { createTestCa, issueCert, type TestCa } from '@mailwarden/testing/tls';
import { Queue } from 'bullmq';
import nodemailer from 'nodemailer';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReportReceiver, type ReportReceiver } from './smtp-receiver.ts';

const DOMAIN = 'reports.test';
const HOST = '127.0.0.1';
const MAX_BYTES = 128 * 1024;
const PER_IP = 3;

let pool: pg.Pool;
let db: Database;
let ca: TestCa;
let receiver: ReportReceiver;
let port: number;
let redis: RedisConnection;
let producer: ReturnType<typeof createProducer>;
let queue: Queue;
const prefix = `test-${randomUUID()}`;

beforeAll(async () => {
  ({ pool, db } = openTestDatabase());
  ca = await createTestCa();
  const leaf = await issueCert(ca, { names: [DOMAIN, HOST] });
  redis = createRedisConnection('redis://127.0.0.1:6379', 'producer');
  producer = createProducer(redis, prefix);
  queue = new Queue(queueNames.reports, { connection: redis, prefix });
  receiver = createReportReceiver({
    db,
    clock: systemClock,
    logger: createLogger('silent', 'inbound-test'),
    domain: DOMAIN,
    maxMessageBytes: MAX_BYTES,
    maxConnections: 100,
    maxConnectionsPerIp: PER_IP,
    tls: { certPem: leaf.chainPem, keyPem: leaf.keyPem },
    enqueueParse: async (tenantId, rawReportId) => {
      await producer.enqueue(
        queueNames.reports,
        'parse-report',
        { tenantId, rawReportId },
        { jobId: parseReportJobId(rawReportId) },
      );
    },
  });
  port = (await receiver.listen(HOST, 0)).port;
});

afterAll(async () => {
  await receiver?.close();
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  await producer?.close();
  await redis?.quit();
  await pool?.end();
});

function transport() {
  return nodemailer.createTransport({
    host: HOST,
    port,
    secure: false,
    requireTLS: true,
    tls: { ca: [ca.certPem], servername: DOMAIN },
    name: 'mx.receiver.test',
  });
}

const report = () =>
  readFileSync(
    corpusPath(
      'dmarc-aggregate',
      'samuelba-dmarc-report-visualizer',
      'google.com!example.com!1701129600!1701215999.xml.gz',
    ),
  );

function reportMail(to: string | string[], id = randomUUID()) {
  return {
    from: 'noreply-dmarc-support@google.com',
    to,
    subject: `Report domain: example.com Submitter: google.com Report-ID: ${id}`,
    text: 'This is an aggregate report from google.com.',
    attachments: [{ filename: 'google.com!example.com!1701129600!1701215999.xml.gz', content: report() }],
  };
}

async function tenantWithAddress() {
  const tenant = await createTestTenant(db);
  await withTenant(db, tenant.id, (tx) =>
    tx
      .insert(schema.domains)
      .values({ id: uuidv7(), tenantId: tenant.id, name: 'example.com', verificationToken: 'x' }),
  );
  return { tenant, address: `${await ensureReportAddress(db, tenant.id)}@${DOMAIN}` };
}

async function rawReports(tenantId: string) {
  return withTenant(db, tenantId, (tx) => tx.select().from(schema.rawReports).orderBy(schema.rawReports.id));
}

describe('the report SMTP receiver', () => {
  it('should store a report mailed over STARTTLS before the 250, enqueue its parse, and parse it', async () => {
    const { tenant, address } = await tenantWithAddress();
    const info = await transport().sendMail(reportMail(address.toUpperCase()));
    expect(info.response).toMatch(/^250 /);
    expect(info.accepted).toHaveLength(1);

    // The 250 came after the commit: the row is there now, with the bytes and their hash.
    const [raw] = await rawReports(tenant.id);
    expect(raw).toMatchObject({ receivedVia: 'smtp', parseState: 'pending' });
    expect(raw!.sha256).toBe(sha256Hex(raw!.bytes));
    expect(raw!.bytes.toString('latin1')).toContain('Report-ID');
    expect(info.response).toContain(raw!.id);

    const job = await queue.getJob(parseReportJobId(raw!.id));
    expect(job?.data).toEqual({ tenantId: tenant.id, rawReportId: raw!.id });
    expect(await ingestRawReport({ db, clock: systemClock }, tenant.id, raw!.id)).toMatchObject({
      state: 'parsed',
      aggregateReports: 1,
    });
  });

  it('should store one raw report per tenant addressed', async () => {
    const a = await tenantWithAddress();
    const b = await tenantWithAddress();
    const info = await transport().sendMail(reportMail([a.address, b.address]));
    expect(info.accepted).toHaveLength(2);
    expect(await rawReports(a.tenant.id)).toHaveLength(1);
    expect(await rawReports(b.tenant.id)).toHaveLength(1);
  });

  it('should refuse unknown report addresses and other domains at RCPT TO', async () => {
    const unknown = transport().sendMail(reportMail(`${'a'.repeat(26)}@${DOMAIN}`));
    await expect(unknown).rejects.toMatchObject({ responseCode: 550, command: 'RCPT TO' });
    const relay = transport().sendMail(reportMail('postmaster@example.org'));
    await expect(relay).rejects.toMatchObject({ responseCode: 550 });
  });

  it('should refuse a message over the size limit with 552 and store nothing', async () => {
    const { tenant, address } = await tenantWithAddress();
    const big = {
      ...reportMail(address),
      attachments: [{ filename: 'big.bin', content: Buffer.alloc(MAX_BYTES * 2, 1) }],
    };
    await expect(transport().sendMail(big)).rejects.toMatchObject({ responseCode: 552 });
    expect(await rawReports(tenant.id)).toEqual([]);
  });

  it('should cap connections per client address', async () => {
    const sockets = [];
    const greetings: string[] = [];
    try {
      for (let i = 0; i < PER_IP + 1; i++) {
        const socket = connect(port, HOST);
        sockets.push(socket);
        greetings.push(
          await new Promise<string>((resolve) =>
            socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))),
          ),
        );
      }
      expect(greetings.slice(0, PER_IP).every((g) => g.startsWith('220 '))).toBe(true);
      expect(greetings[PER_IP]).toMatch(/^421 /);
    } finally {
      for (const s of sockets) s.destroy();
    }
    // Closed connections are counted down again.
    for (let i = 0; i < 50 && receiver.connectionsFrom(HOST) > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(receiver.connectionsFrom(HOST)).toBe(0);
  });

  it('should take a report from swaks over STARTTLS with certificate verification', async () => {
    const { tenant, address } = await tenantWithAddress();
    const caFile = join(ca.dir, 'swaks-ca.pem');
    writeFileSync(caFile, ca.certPem);
    const body = [
      'From: dmarc@receiver.test',
      `To: ${address}`,
      'Subject: Report domain: example.com',
      'MIME-Version: 1.0',
      'Content-Type: application/gzip; name="report.xml.gz"',
      'Content-Transfer-Encoding: base64',
      '',
      report().toString('base64').replace(/.{76}/g, '$&\r\n'),
      '',
    ].join('\r\n');
    const bodyFile = join(ca.dir, `swaks-${randomUUID()}.eml`);
    writeFileSync(bodyFile, body);
    const { stdout } = await promisify(execFile)(
      'swaks',
      [
        '--to',
        address,
        '--from',
        'dmarc@receiver.test',
        '--server',
        HOST,
        '--port',
        String(port),
        '--tls',
        '--tls-verify',
        '--tls-ca-path',
        caFile,
        '--tls-sni',
        DOMAIN,
        '--data',
        `@${bodyFile}`,
        '--timeout',
        '10',
      ],
      { timeout: 20_000 },
    );
    expect(stdout).toMatch(/<~ {2}220 .*TLS|STARTTLS/);
    expect(stdout).toMatch(/<~ {2}250 2\.0\.0 Stored as/);
    const [raw] = await rawReports(tenant.id);
    expect(await ingestRawReport({ db, clock: systemClock }, tenant.id, raw!.id)).toMatchObject({
      state: 'parsed',
      aggregateReports: 1,
    });
  });
});
