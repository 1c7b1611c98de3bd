/**
 * The report routes through the real app: an upload is committed before the 202 and its parse job
 * is in the queue; the worker's ingest (run here directly, the worker has its own tests) fills the
 * tables the summary, list and advice routes read. Refusals: unknown content types, empty and
 * oversized bodies, foreign and malformed ids.
 */
import { readFileSync } from 'node:fs';
import { decodeId, encodeId, systemClock, uuidv7 } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { ingestRawReport } from '@mailwarden/monitoring';
import { parseReportJobId, queueNames } from '@mailwarden/queue';
import { corpusPath } from '@mailwarden/testing/corpus';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, type SignedUp, signUp } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
let owner: SignedUp;
let queue: Queue;
const MAX_BYTES = 256 * 1024;

beforeAll(async () => {
  t = await buildTestApp({ REPORT_UPLOAD_MAX_BYTES: String(MAX_BYTES) });
  owner = await signUp(t);
  queue = new Queue(queueNames.reports, { connection: t.container.redis, prefix: t.config.QUEUE_PREFIX });
});

afterAll(async () => {
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  await t?.close();
});

const corpus = (...parts: string[]) => readFileSync(corpusPath(...parts));

async function watch(typedTenantId: string, name: string): Promise<string> {
  const tenantId = decodeId('ten', typedTenantId)!;
  const id = uuidv7();
  await withTenant(t.container.db, tenantId, (tx) =>
    tx.insert(schema.domains).values({ id, tenantId, name, verificationToken: `t${id.slice(0, 8)}` }),
  );
  return encodeId('dom', id);
}

function upload(token: string, body: Buffer | string, contentType: string) {
  return t.app.inject({
    method: 'POST',
    url: '/v1/reports',
    headers: { ...bearer(token), 'content-type': contentType },
    payload: body,
  });
}

/** What the worker does with the job the upload enqueued. */
async function runParseJob(rptId: string) {
  const rawReportId = decodeId('rpt', rptId)!;
  const job = await queue.getJob(parseReportJobId(rawReportId));
  const tenantId = decodeId('ten', owner.tenantId)!;
  expect(job?.data).toEqual({ tenantId, rawReportId });
  return ingestRawReport({ db: t.container.db, clock: systemClock }, tenantId, rawReportId);
}

describe('GET /v1/reports/address', () => {
  it('should give the tenant one stable report address with the records to publish', async () => {
    const first = await t.app.inject({ url: '/v1/reports/address', headers: bearer(owner.accessToken) });
    expect(first.statusCode, first.body).toBe(200);
    const body = first.json();
    expect(body.address).toMatch(
      new RegExp(`^[a-z0-9]{26}@${t.config.INBOUND_DOMAIN.replace(/\./g, '\\.')}$`),
    );
    expect(body.rua).toBe(`mailto:${body.address}`);
    expect(body.authorizationRecord).toBe(`*._report._dmarc.${t.config.INBOUND_DOMAIN}. TXT "v=DMARC1"`);
    const again = await t.app.inject({ url: '/v1/reports/address', headers: bearer(owner.accessToken) });
    expect(again.json().address).toBe(body.address);
    const other = await signUp(t);
    const theirs = await t.app.inject({ url: '/v1/reports/address', headers: bearer(other.accessToken) });
    expect(theirs.json().address).not.toBe(body.address);
  });
});

describe('POST /v1/reports', () => {
  it('should store a gzip report, answer 202 with its id, and enqueue its parse', async () => {
    const dom = await watch(owner.tenantId, 'example.com');
    const bytes = corpus(
      'dmarc-aggregate',
      'samuelba-dmarc-report-visualizer',
      'google.com!example.com!1701129600!1701215999.xml.gz',
    );
    const res = await upload(owner.accessToken, bytes, 'application/gzip');
    expect(res.statusCode, res.body).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ id: expect.stringMatching(/^rpt_/), state: 'pending', duplicate: false });
    expect(res.headers.location).toBe(`/v1/reports/uploads/${body.id}`);

    const status = await t.app.inject({
      url: res.headers.location as string,
      headers: bearer(owner.accessToken),
    });
    expect(status.json()).toMatchObject({ state: 'pending', receivedVia: 'upload', size: bytes.length });

    expect(await runParseJob(body.id)).toMatchObject({ state: 'parsed', aggregateReports: 1 });
    const after = await t.app.inject({
      url: res.headers.location as string,
      headers: bearer(owner.accessToken),
    });
    expect(after.json()).toMatchObject({ state: 'parsed', errorCode: null });

    const again = await upload(owner.accessToken, bytes, 'application/octet-stream');
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ id: body.id, state: 'parsed', duplicate: true });

    const xml = corpus(
      'dmarc-aggregate',
      'samuelba-dmarc-report-visualizer',
      'google.com!example.com!1701129600!1701215999.xml',
    ).toString();
    const messages = [...xml.matchAll(/<count>\s*(\d+)\s*<\/count>/g)].reduce((s, m) => s + Number(m[1]), 0);
    const summary = await t.app.inject({
      url: `/v1/domains/${dom}/reports/summary?from=2023-11-28&to=2023-11-28`,
      headers: bearer(owner.accessToken),
    });
    expect(summary.statusCode, summary.body).toBe(200);
    expect(summary.json().totals.messages).toBe(messages);
    expect(summary.json().reporters).toEqual([{ orgName: 'Google', reports: 1, messages }]);

    const list = await t.app.inject({ url: '/v1/reports', headers: bearer(owner.accessToken) });
    expect(list.json().items).toMatchObject([{ kind: 'aggregate', orgName: 'Google', domainId: dom }]);

    const advice = await t.app.inject({
      url: `/v1/domains/${dom}/enforcement-advice?from=2023-11-28&to=2023-11-28`,
      headers: bearer(owner.accessToken),
    });
    expect(advice.statusCode, advice.body).toBe(200);
    expect(advice.json()).toMatchObject({ messages, recommendation: expect.any(String) });
  });

  it('should accept XML, JSON and mail content types', async () => {
    const cases: [Buffer, string][] = [
      [
        corpus('dmarc-aggregate', 'opendmarc', '163.com!example.com!1337270400!1337356799.20120518163.xml'),
        'text/xml',
      ],
      [corpus('smtp-tls', 'parsedmarc', 'rfc8460.json'), 'application/json'],
      [corpus('dmarc-aggregate', 'mjl-mox', 'google.eml'), 'message/rfc822'],
    ];
    for (const [bytes, type] of cases) {
      const res = await upload(owner.accessToken, bytes, type);
      expect(res.statusCode, `${type}: ${res.body}`).toBe(202);
    }
  });

  it('should refuse other content types, empty bodies and oversized ones', async () => {
    expectProblem(await upload(owner.accessToken, 'hello', 'text/plain'), 415, 'unsupported_media_type');
    expectProblem(
      await upload(owner.accessToken, Buffer.alloc(0), 'application/xml'),
      400,
      'validation_failed',
    );
    expectProblem(
      await upload(owner.accessToken, Buffer.alloc(MAX_BYTES + 1, 0x41), 'application/octet-stream'),
      413,
      'payload_too_large',
    );
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/v1/reports',
      headers: { 'content-type': 'application/xml' },
      payload: '<feedback/>',
    });
    expectProblem(anonymous, 401, 'unauthenticated');
  });

  it("should answer 404 for another tenant's upload and domain, and list none of its reports", async () => {
    const other = await signUp(t);
    const res = await upload(
      owner.accessToken,
      Buffer.from(`<feedback>${uuidv7()}</feedback>`),
      'application/xml',
    );
    const id = res.json().id as string;
    const dom = await watch(owner.tenantId, 'owner-only.test');
    expectProblem(
      await t.app.inject({ url: `/v1/reports/uploads/${id}`, headers: bearer(other.accessToken) }),
      404,
      'not_found',
    );
    for (const url of [`/v1/domains/${dom}/reports/summary`, `/v1/domains/${dom}/enforcement-advice`]) {
      expectProblem(await t.app.inject({ url, headers: bearer(other.accessToken) }), 404, 'not_found');
    }
    const list = await t.app.inject({ url: '/v1/reports', headers: bearer(other.accessToken) });
    expect(list.json()).toEqual({ items: [], nextCursor: null });
    expectProblem(
      await t.app.inject({ url: '/v1/reports/uploads/rpt_nope', headers: bearer(owner.accessToken) }),
      404,
      'not_found',
    );
  });
});
