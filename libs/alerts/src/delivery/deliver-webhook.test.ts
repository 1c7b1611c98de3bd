/**
 * deliverWebhook against real receivers on loopback: node:http and node:https receivers that
 * verify with `standardwebhooks`, the shared HTTPS fixture server, and a canary that proves a
 * refused target was never dialled. Names are served by the test DNS server and resolved by the
 * real DNS client of libs/net. 127.0.0.40/30 (.40-.43) is the allow-list; the canary at .44 is
 * outside it.
 */
import { uuidv7 } from '@mailwarden/core';
import { createDnsClient, type DnsClient, parseAllowList } from '@mailwarden/net';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import {
  type Canary,
  startCanary,
  startHttpsServer,
  type TestHttpsServer,
} from '@mailwarden/testing/https-server';
import { createTestCa, issueCert, type TestCa } from '@mailwarden/testing/tls';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertEvent } from '../events/alert-events.ts';
import { generateWebhookSecret } from '../signing/standard-webhooks.ts';
import { type DeliverWebhookOptions, deliverWebhook } from './deliver-webhook.ts';
import { endpointHealthAfter, nextAttemptAt } from './retry-schedule.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.test-helper.ts';
import { buildWebhookRequest } from './webhook-request.ts';

const allowOf = (text: string) => {
  const r = parseAllowList(text);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.allow;
};
const ALLOW = allowOf('127.0.0.40/30');
const IP = {
  plain: '127.0.0.41',
  tls: '127.0.0.42',
  fixture: '127.0.0.43',
  canary: '127.0.0.44',
  dns: '127.0.0.45',
};

const secret = generateWebhookSecret();
let ca: TestCa;
let dns: TestDnsServer;
let resolver: DnsClient;
let plain: WebhookReceiver;
let secure: WebhookReceiver;
let fixture: TestHttpsServer;
let canary: Canary;

beforeAll(async () => {
  ca = await createTestCa();
  const cert = await issueCert(ca, { names: ['hooks.alerts.test', 'fixture.alerts.test'] });
  canary = await startCanary({ host: IP.canary });
  dns = await startDnsServer({
    host: IP.dns,
    zones: {
      'alerts.test': {
        records: {
          plain: { A: [IP.plain] },
          hooks: { A: [IP.tls] },
          fixture: { A: [IP.fixture] },
          canary: { A: [IP.canary] },
          metadata: { A: ['169.254.169.254'] },
          mixed: { A: [IP.plain, '10.1.2.3'] },
        },
      },
    },
  });
  resolver = createDnsClient({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 1_000 });
  plain = await startWebhookReceiver({ host: IP.plain, secrets: [secret] });
  secure = await startWebhookReceiver({
    host: IP.tls,
    secrets: [secret],
    tls: { cert: cert.chainPem, key: cert.keyPem },
  });
  fixture = await startHttpsServer({
    host: IP.fixture,
    cert: cert.chainPem,
    key: cert.keyPem,
    routes: {
      '/ok': { status: 202, body: 'accepted' },
      '/moved': { redirect: '/ok' },
      '/slow': { delayMs: 5_000, body: 'late' },
      '/endless': { endless: true },
      '/big-declared': { body: 'x', contentLength: 50_000_000 },
      '/gone': { status: 410, body: 'bye' },
    },
  });
});

afterAll(async () => {
  resolver?.close();
  await Promise.all([plain?.close(), secure?.close(), fixture?.close(), canary?.close(), dns?.close()]);
});

const domain = { id: uuidv7(), name: 'example.com' };
function signedRequest() {
  const event = createAlertEvent('domain.verified', { domain, verifiedAt: new Date() }, new Date());
  return buildWebhookRequest({
    event,
    eventId: uuidv7(),
    now: new Date(),
    format: 'standard',
    secrets: [secret],
  });
}
const opts = (url: string, extra: Partial<DeliverWebhookOptions> = {}): DeliverWebhookOptions => ({
  url,
  ...signedRequest(),
  resolver,
  allow: ALLOW,
  ca: [ca.certPem],
  timeoutMs: 5_000,
  ...extra,
});

describe('deliverWebhook', () => {
  it('should deliver a signed event over http to an allow-listed receiver that verifies it', async () => {
    const request = signedRequest();
    const attempt = await deliverWebhook({
      ...opts(`http://plain.alerts.test:${plain.port}/hook?x=1`),
      ...request,
    });
    expect(attempt).toMatchObject({
      outcome: 'success',
      statusCode: 204,
      error: null,
      detail: null,
      responseExcerpt: null,
      address: IP.plain,
    });
    expect(attempt.latencyMs).toBeGreaterThanOrEqual(0);
    const got = plain.received.at(-1);
    expect(got).toMatchObject({ path: '/hook?x=1', method: 'POST', verified: true, body: request.body });
    expect(got?.headers).toMatchObject({
      host: `plain.alerts.test:${plain.port}`,
      'content-type': 'application/json; charset=utf-8',
      'webhook-id': request.headers['webhook-id'],
    });
    expect(got?.headers['user-agent']).toMatch(/^Mailwarden-Webhooks\//);
    expect(JSON.parse(got?.body ?? '')).toMatchObject({
      type: 'domain.verified',
      data: { domain: { name: 'example.com' } },
    });
  });

  it('should deliver over https with the test CA, and refuse the certificate without it', async () => {
    const before = secure.received.length;
    const ok = await deliverWebhook(opts(`https://hooks.alerts.test:${secure.port}/hook`));
    expect(ok).toMatchObject({ outcome: 'success', statusCode: 204, address: IP.tls });
    expect(secure.received.at(-1)?.verified).toBe(true);

    const untrusted = await deliverWebhook(opts(`https://hooks.alerts.test:${secure.port}/hook`, { ca: [] }));
    expect(untrusted).toMatchObject({ outcome: 'retry', error: 'tls_error', statusCode: null });
    expect(untrusted.detail).toContain('SELF_SIGNED_CERT_IN_CHAIN');
    expect(secure.received.length).toBe(before + 1);
  });

  it('should sign each attempt afresh: a retry verifies with a new timestamp and the same id', async () => {
    const event = createAlertEvent('domain.verified', { domain, verifiedAt: new Date() }, new Date());
    const eventId = uuidv7();
    const url = `https://hooks.alerts.test:${secure.port}/hook`;
    const first = buildWebhookRequest({
      event,
      eventId,
      now: new Date(Date.now() - 3_600_000),
      format: 'standard',
      secrets: [secret],
    });
    // An attempt replayed an hour later with its old signature is refused by the receiver...
    expect(await deliverWebhook({ ...opts(url), ...first })).toMatchObject({
      outcome: 'retry',
      statusCode: 400,
    });
    expect(secure.received.at(-1)?.verified).toBe('Message timestamp too old');
    // ...while the retry built now verifies, under the same webhook-id.
    const retry = buildWebhookRequest({
      event,
      eventId,
      now: new Date(),
      format: 'standard',
      secrets: [secret],
    });
    expect(await deliverWebhook({ ...opts(url), ...retry })).toMatchObject({ outcome: 'success' });
    expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(retry.body).toBe(first.body);
  });

  it('should treat a redirect as a failure and never follow it', async () => {
    const before = plain.received.length;
    const attempt = await deliverWebhook(opts(`http://plain.alerts.test:${plain.port}/redirect`));
    expect(attempt).toMatchObject({ outcome: 'retry', error: 'redirect', statusCode: 307 });
    expect(attempt.detail).toBe('HTTP 307 redirect not followed (to https://elsewhere.test)');
    expect(attempt.detail).not.toContain('RECEIVER-SECRET');
    expect(plain.received.length).toBe(before + 1);

    const fixtureBefore = fixture.requests.length;
    expect(await deliverWebhook(opts(`https://fixture.alerts.test:${fixture.port}/moved`))).toMatchObject({
      outcome: 'retry',
      error: 'redirect',
      statusCode: 302,
    });
    expect(fixture.requests.slice(fixtureBefore).map((r) => r.path)).toEqual(['/moved']);
  });

  it('should time out on a receiver that never answers, at the configured timeout', async () => {
    const started = Date.now();
    const attempt = await deliverWebhook(
      opts(`http://plain.alerts.test:${plain.port}/hang`, { timeoutMs: 300 }),
    );
    expect(attempt).toMatchObject({
      outcome: 'retry',
      error: 'timeout',
      statusCode: null,
      address: IP.plain,
    });
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(attempt.latencyMs).toBeGreaterThanOrEqual(250);

    const slow = await deliverWebhook(
      opts(`https://fixture.alerts.test:${fixture.port}/slow`, { timeoutMs: 300 }),
    );
    expect(slow).toMatchObject({ outcome: 'retry', error: 'timeout' });
  });

  it('should read at most 64 KiB of a huge body, discard the rest and keep a short excerpt', async () => {
    const started = Date.now();
    const attempt = await deliverWebhook(opts(`http://plain.alerts.test:${plain.port}/endless`));
    expect(attempt).toMatchObject({ outcome: 'success', statusCode: 200, error: null });
    expect(attempt.detail).toBe('body over 65536 bytes discarded');
    expect(attempt.responseExcerpt).toBe('z'.repeat(1_024));
    expect(Date.now() - started).toBeLessThan(3_000);
    // The connection was closed: the endless writer stops soon after.
    await expect.poll(() => plain.fillerBytes(), { timeout: 2_000 }).toBeLessThan(64 * 1024 * 1024);
    const settled = plain.fillerBytes();
    await new Promise((r) => setTimeout(r, 100));
    expect(plain.fillerBytes()).toBe(settled);

    expect(
      await deliverWebhook(
        opts(`https://fixture.alerts.test:${fixture.port}/endless`, {
          maxResponseBytes: 1_000,
          excerptChars: 10,
        }),
      ),
    ).toMatchObject({
      outcome: 'success',
      responseExcerpt: 'aaaaaaaaaa',
      detail: 'body over 1000 bytes discarded',
    });
    // A lying Content-Length is not waited for: the status decides, the body is cut at the deadline.
    const lying = await deliverWebhook(
      opts(`https://fixture.alerts.test:${fixture.port}/big-declared`, { timeoutMs: 500 }),
    );
    expect(lying).toMatchObject({ outcome: 'success', statusCode: 200, responseExcerpt: 'x' });
  });

  it('should classify 410 as disable and 5xx as retry, keeping a clean excerpt', async () => {
    const gone = await deliverWebhook(opts(`http://plain.alerts.test:${plain.port}/gone`));
    expect(gone).toMatchObject({
      outcome: 'disable',
      error: 'gone',
      statusCode: 410,
      responseExcerpt: 'endpoint removed',
    });
    expect(endpointHealthAfter(null, gone)).toMatchObject({ disable: true, reason: 'gone' });
    expect(await deliverWebhook(opts(`https://fixture.alerts.test:${fixture.port}/gone`))).toMatchObject({
      outcome: 'disable',
      statusCode: 410,
    });

    const down = await deliverWebhook(opts(`http://plain.alerts.test:${plain.port}/unavailable`));
    expect(down).toMatchObject({
      outcome: 'retry',
      error: 'http_status',
      statusCode: 503,
      detail: 'HTTP 503',
      responseExcerpt: 'down for? maintenance?',
    });
    expect(nextAttemptAt(1, down.attemptedAt)).not.toBeNull();
    expect(await deliverWebhook(opts(`http://plain.alerts.test:${plain.port}/nothing-here`))).toMatchObject({
      outcome: 'retry',
      statusCode: 404,
    });
  });

  it('should refuse a host that resolves outside the allow-list without dialling it', async () => {
    const url = `https://canary.alerts.test:${canary.port}/hook`;
    const refused = await deliverWebhook(opts(url));
    expect(refused).toMatchObject({
      outcome: 'retry',
      error: 'ssrf_refused',
      statusCode: null,
      address: null,
    });
    expect(refused.detail).toContain('127.0.0.44 (loopback)');
    const http = await deliverWebhook(opts(`http://canary.alerts.test:${canary.port}/hook`));
    expect(http).toMatchObject({ error: 'ssrf_refused' });
    expect(await deliverWebhook(opts('https://metadata.alerts.test/latest/meta-data/'))).toMatchObject({
      error: 'ssrf_refused',
    });
    expect(await deliverWebhook(opts(`http://mixed.alerts.test:${plain.port}/hook`))).toMatchObject({
      error: 'ssrf_refused',
    });
    expect(await deliverWebhook(opts(`http://[::1]:${plain.port}/hook`))).toMatchObject({
      error: 'ssrf_refused',
    });
    expect(canary.seen).toEqual([]);
    // Control: once the canary's address is allowed, the very next attempt reaches it.
    await deliverWebhook(
      opts(`http://canary.alerts.test:${canary.port}/hook`, { allow: allowOf(`${IP.canary}/32`) }),
    );
    await expect.poll(() => canary.seen.length).toBe(1);
  });

  it('should report refused connections, unknown names and bad input as attempts', async () => {
    const closed = await startWebhookReceiver({ host: IP.plain, secrets: [secret] });
    const port = closed.port;
    await closed.close();
    expect(await deliverWebhook(opts(`http://plain.alerts.test:${port}/hook`))).toMatchObject({
      outcome: 'retry',
      error: 'connection_refused',
    });
    expect(await deliverWebhook(opts('https://absent.alerts.test/hook'))).toMatchObject({
      error: 'dns_no_address',
    });
    expect(await deliverWebhook(opts('ftp://plain.alerts.test/hook'))).toMatchObject({
      error: 'invalid_url',
    });
    expect(await deliverWebhook(opts('https://u:p@plain.alerts.test/hook'))).toMatchObject({
      error: 'invalid_url',
    });
    const before = plain.connections();
    const bad: Record<string, string>[] = [
      { host: 'evil.test' },
      { 'x-a': 'b\r\nx-injected: 1' },
      { 'bad name': 'v' },
    ];
    for (const headers of bad) {
      expect(
        await deliverWebhook({ ...opts(`http://plain.alerts.test:${plain.port}/hook`), headers }),
      ).toMatchObject({ error: 'invalid_request' });
    }
    expect(plain.connections()).toBe(before);
  });

  it('should deliver a Slack message body unsigned, as Slack expects', async () => {
    const event = createAlertEvent('domain.verified', { domain, verifiedAt: new Date() }, new Date());
    const request = buildWebhookRequest({
      event,
      eventId: uuidv7(),
      now: new Date(),
      format: 'slack',
      dashboardBaseUrl: 'https://app.test',
    });
    expect(Object.keys(request.headers)).toEqual(['content-type']);
    const attempt = await deliverWebhook({
      ...opts(`https://fixture.alerts.test:${fixture.port}/ok`),
      ...request,
    });
    expect(attempt).toMatchObject({ outcome: 'success', statusCode: 202, responseExcerpt: 'accepted' });
    expect(JSON.parse(request.body)).toMatchObject({ text: 'Domain verified: example.com' });
    expect(() => new Webhook(secret).verify(request.body, request.headers)).toThrow();
  });
});
