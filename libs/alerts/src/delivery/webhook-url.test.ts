/**
 * Save-time URL checks. Names come from the test DNS server through the real DNS client;
 * `validateWebhookUrl` never dials, so public addresses in the fixture zone are safe here.
 */
import { isAppError } from '@mailwarden/core';
import { createDnsClient, type DnsClient, parseAllowList } from '@mailwarden/net';
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  httpPermitted,
  MAX_WEBHOOK_URL_LENGTH,
  parseWebhookUrl,
  validateWebhookUrl,
  type WebhookUrlPolicy,
  webhookUrlError,
} from './webhook-url.ts';

let dns: TestDnsServer;
let resolver: DnsClient;

beforeAll(async () => {
  dns = await startDnsServer({
    host: '127.0.0.46',
    zones: {
      'hooks.test': {
        records: {
          public: { A: ['198.51.100.7'] },
          // Not a documentation range: a real public address, only ever resolved here.
          real: { A: ['8.8.8.8'], AAAA: ['2001:4860:4860::8888'] },
          lab: { A: ['127.0.0.41'] },
          metadata: { A: ['169.254.169.254'] },
          private: { A: ['10.0.0.5'] },
          mixed: { A: ['8.8.8.8', '192.168.1.1'] },
          broken: { A: ['8.8.4.4'] },
        },
      },
    },
  });
  resolver = createDnsClient({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 500, attempts: 1 });
});
afterAll(async () => {
  resolver?.close();
  await dns?.close();
});

const allow = (text: string) => {
  const r = parseAllowList(text);
  if (!r.ok) throw new Error(r.errors.join(';'));
  return r.allow;
};
const policy = (extra: Partial<WebhookUrlPolicy> = {}): WebhookUrlPolicy => ({
  resolver,
  allow: [],
  ...extra,
});

describe('validateWebhookUrl', () => {
  it('should accept https to a public host and return what to store and show', async () => {
    const r = await validateWebhookUrl('https://REAL.hooks.test/services/T0/B0/tok3n?x=1#frag', policy());
    expect(r).toEqual({
      ok: true,
      url: 'https://real.hooks.test/services/T0/B0/tok3n?x=1',
      displayTarget: 'https://real.hooks.test',
      addresses: ['8.8.8.8', '2001:4860:4860::8888'],
    });
  });

  it('should refuse http to a public host, unless explicitly allowed', async () => {
    expect(await validateWebhookUrl('http://real.hooks.test/hook', policy())).toMatchObject({
      ok: false,
      reason: 'insecure_scheme',
      retryable: false,
    });
    expect(
      await validateWebhookUrl('http://real.hooks.test/hook', policy({ allowHttp: true })),
    ).toMatchObject({
      ok: true,
    });
  });

  it('should allow http only to addresses the allow-list opened', async () => {
    expect(await validateWebhookUrl('http://lab.hooks.test:8080/hook', policy())).toMatchObject({
      ok: false,
      reason: 'ssrf_refused',
    });
    expect(
      await validateWebhookUrl('http://lab.hooks.test:8080/hook', policy({ allow: allow('127.0.0.0/8') })),
    ).toMatchObject({ ok: true, displayTarget: 'http://lab.hooks.test:8080', addresses: ['127.0.0.41'] });
  });

  it('should refuse private, metadata, loopback-literal and mixed answers', async () => {
    for (const url of [
      'https://metadata.hooks.test/',
      'https://private.hooks.test/',
      'https://mixed.hooks.test/',
      'https://127.0.0.1/',
      'https://[::1]/',
      'https://[::ffff:169.254.169.254]/',
      'https://0x7f.1/',
    ]) {
      expect(await validateWebhookUrl(url, policy()), url).toMatchObject({
        ok: false,
        reason: 'ssrf_refused',
      });
    }
  });

  it('should report DNS outcomes, with only unknown ones retryable', async () => {
    expect(await validateWebhookUrl('https://absent.hooks.test/', policy())).toMatchObject({
      ok: false,
      reason: 'dns_no_address',
      retryable: false,
    });
    dns.setFault('broken.hooks.test', { kind: 'rcode', rcode: 2 });
    expect(await validateWebhookUrl('https://broken.hooks.test/', policy())).toMatchObject({
      ok: false,
      reason: 'dns_unknown',
      retryable: true,
    });
    dns.clearFaults();
  });

  it('should refuse malformed URLs before any DNS query', async () => {
    dns.clearLog();
    for (const url of [
      'not a url',
      'ftp://public.hooks.test/',
      'file:///etc/passwd',
      'https://user:pw@public.hooks.test/',
      `https://public.hooks.test/${'a'.repeat(MAX_WEBHOOK_URL_LENGTH)}`,
    ]) {
      expect(await validateWebhookUrl(url, policy()), url).toMatchObject({
        ok: false,
        reason: 'invalid_url',
      });
    }
    expect(dns.queryLog).toHaveLength(0);
  });
});

describe('parseWebhookUrl', () => {
  it('should default ports by scheme and strip IPv6 brackets', () => {
    expect(parseWebhookUrl('https://a.test/x')).toMatchObject({
      ok: true,
      parsed: { port: 443, scheme: 'https' },
    });
    expect(parseWebhookUrl('http://[2001:db8::1]:8080/')).toMatchObject({
      ok: true,
      parsed: { host: '2001:db8::1', port: 8080, scheme: 'http' },
    });
  });
});

describe('httpPermitted', () => {
  it('should need the opt-in or every address opened by the allow-list', () => {
    const p = policy();
    expect(httpPermitted([{ allowedBy: '127.0.0.0/8' }], p)).toBe(true);
    expect(httpPermitted([{ allowedBy: '127.0.0.0/8' }, {}], p)).toBe(false);
    expect(httpPermitted([{}], p)).toBe(false);
    expect(httpPermitted([], p)).toBe(false);
    expect(httpPermitted([{}], policy({ allowHttp: true }))).toBe(true);
  });
});

describe('webhookUrlError', () => {
  it('should be a 400 validation_failed naming the field and the reason', () => {
    const err = webhookUrlError({
      ok: false,
      reason: 'ssrf_refused',
      detail: 'x resolves to 10.0.0.5 (private)',
      retryable: false,
    });
    expect(isAppError(err)).toBe(true);
    expect(err).toMatchObject({
      code: 'validation_failed',
      status: 400,
      errors: [{ location: 'body.url' }],
      extensions: { reason: 'ssrf_refused', retryable: false },
    });
  });
});
