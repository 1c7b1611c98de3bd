/**
 * POST /v1/messages/check through the real app: messages DKIM-signed in the test, their keys,
 * SPF and DMARC records and a domain blocklist zone served by the loopback DNS server that
 * DNS_SERVERS points at (so the API's own DNS client asks it, never the system resolver).
 */
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMessage,
  createSigner,
  signMessage,
} from '../../../libs/checks/src/message/message-fixtures.test-helper.ts';
import { bearer, expectProblem, nextIp, signUp } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

const DNS_HOST = '127.77.9.53';
const signer = createSigner('sender.test');
const MAX_BYTES = 64 * 1024;

let dns: TestDnsServer;
let t: TestApp;
let token: string;

beforeAll(async () => {
  dns = await startDnsServer({
    host: DNS_HOST,
    zones: {
      'sender.test': {
        records: {
          '@': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
          'sel1._domainkey': { TXT: [signer.keyRecord] },
          _dmarc: { TXT: ['v=DMARC1; p=reject'] },
        },
      },
      'dbl.test': {
        records: {
          'evil.example': { A: ['127.0.1.4'], TXT: ['Phishing domain'] },
          'refused.example': { A: ['127.255.255.254'] },
        },
      },
    },
  });
  t = await buildTestApp({
    DNS_SERVERS: dns.address,
    BLOCKLISTS_DOMAIN:
      'dbl.test=127.0.1.2:spam domain|127.0.1.4:phish domain|127.255.255.254:!public resolver',
    BLOCKLISTS_IP: 'none',
    MESSAGE_CHECK_MAX_BYTES: String(MAX_BYTES),
    MESSAGE_CHECK_PER_MINUTE: '1000',
  });
  token = (await signUp(t)).accessToken;
});

afterAll(async () => {
  await t?.close();
  await dns?.close();
});

const good = () =>
  signMessage(
    buildMessage({
      from: 'alice@sender.test',
      returnPath: 'bounce@sender.test',
      text: 'Invoice: https://portal.sender.test/1',
    }),
    signer,
  );

function post(body: Buffer | string, contentType: string, query = '', auth = token) {
  return t.app.inject({
    method: 'POST',
    url: `/v1/messages/check${query}`,
    headers: { ...bearer(auth), 'content-type': contentType },
    remoteAddress: nextIp(),
    payload: body,
  });
}

describe('POST /v1/messages/check', () => {
  it('should verify a raw message/rfc822 body with the envelope in the query', async () => {
    const res = await post(await good(), 'message/rfc822', '?clientIp=192.0.2.1&helo=mail.sender.test');
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({
      verdict: 'pass',
      reasons: [],
      envelope: {
        clientIp: '192.0.2.1',
        helo: 'mail.sender.test',
        mailFrom: 'bounce@sender.test',
        mailFromSource: 'return-path',
      },
      authentication: {
        spf: { result: 'pass', domain: 'sender.test' },
        dkim: [{ domain: 'sender.test', selector: 'sel1', result: 'pass', aligned: true }],
        dmarc: { result: 'pass', policy: 'reject' },
      },
      findings: [],
    });
    expect(report.content.urls).toEqual(['https://portal.sender.test/1']);
    expect(dns.queriesFor('sel1._domainkey.sender.test', 'TXT').length).toBeGreaterThan(0);
    expect(dns.queriesFor('sender.test.dbl.test', 'A').length).toBeGreaterThan(0);
  });

  it('should take JSON with a base64 message and fail it for a blocklisted link', async () => {
    const message = await signMessage(
      buildMessage({
        from: 'alice@sender.test',
        html: '<a href="https://login.evil.example/">Sign in</a> <a href="https://refused.example/">x</a>',
      }),
      signer,
    );
    const res = await post(
      JSON.stringify({
        message: message.toString('base64'),
        clientIp: '192.0.2.1',
        mailFrom: 'alice@sender.test',
      }),
      'application/json',
    );
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    expect(report.verdict).toBe('fail');
    expect(report.reasons).toEqual(['blocklist.domain_listed']);
    expect(report.envelope.mailFromSource).toBe('given');
    expect(report.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'blocklist.domain_listed',
          subject: 'evil.example on dbl.test',
          evidence: expect.objectContaining({ reason: 'Phishing domain', origins: ['html'] }),
        }),
        expect.objectContaining({ code: 'blocklist.lookup_unknown', subject: 'dbl.test' }),
      ]),
    );
    expect(report.blocklists.facts.listed).toEqual({ 'evil.example': ['dbl.test'] });
  });

  it('should report a forged message: DMARC fail for a changed body from a refused address', async () => {
    const signed = await good();
    const forged = Buffer.from(
      signed.toString('latin1').replace('portal.sender.test/1', 'portal.sender.test/2'),
      'latin1',
    );
    const res = await post(forged, 'message/rfc822', '?clientIp=198.51.100.7');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ verdict: 'fail', reasons: ['message.dmarc_fail'] });
  });

  it('should require a credential and accept a read-scope API key', async () => {
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/v1/messages/check',
      headers: { 'content-type': 'message/rfc822' },
      payload: await good(),
    });
    expectProblem(anonymous, 401, 'unauthenticated');
    const key = await t.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: bearer(token),
      payload: { name: 'checker', scopes: ['read'] },
    });
    expect(key.statusCode, key.body).toBe(201);
    const res = await post(await good(), 'message/rfc822', '', key.json().key);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().authentication.spf.result).toBe('none');
  });

  it('should refuse bad input with a problem naming the field', async () => {
    expectProblem(
      await post(await good(), 'message/rfc822', '?clientIp=not-an-ip'),
      400,
      'validation_failed',
    );
    const badBase64 = expectProblem(
      await post(JSON.stringify({ message: '!!!' }), 'application/json'),
      400,
      'validation_failed',
    );
    expect(badBase64.errors).toEqual([{ location: 'body.message', message: 'must be base64' }]);
    expectProblem(
      await post(JSON.stringify({ message: 'QQ==', extra: 1 }), 'application/json'),
      400,
      'validation_failed',
    );
    expectProblem(await post('hello', 'text/plain'), 415, 'unsupported_media_type');
  });

  it('should refuse a message over MESSAGE_CHECK_MAX_BYTES with 413', async () => {
    const big = Buffer.concat([await good(), Buffer.alloc(MAX_BYTES, 0x61)]);
    const raw = expectProblem(await post(big, 'message/rfc822'), 413, 'payload_too_large');
    expect(String(raw.detail)).toMatch(/at most 65536/);
    expectProblem(
      await post(JSON.stringify({ message: big.toString('base64') }), 'application/json'),
      413,
      'payload_too_large',
    );
  });
});

describe('POST /v1/messages/check rate limit', () => {
  it('should answer 429 past MESSAGE_CHECK_PER_MINUTE from one address', async () => {
    const limited = await buildTestApp({
      DNS_SERVERS: dns.address,
      BLOCKLISTS_DOMAIN: 'none',
      BLOCKLISTS_IP: 'none',
      MESSAGE_CHECK_PER_MINUTE: '2',
    });
    try {
      const owner = await signUp(limited);
      const ip = nextIp();
      const send = async () =>
        limited.app.inject({
          method: 'POST',
          url: '/v1/messages/check',
          headers: { ...bearer(owner.accessToken), 'content-type': 'message/rfc822' },
          payload: await good(),
          remoteAddress: ip,
        });
      expect((await send()).statusCode).toBe(200);
      expect((await send()).statusCode).toBe(200);
      expectProblem(await send(), 429, 'rate_limited');
    } finally {
      await limited.close();
    }
  });
});
