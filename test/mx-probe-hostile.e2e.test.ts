import { analyseMxProbe } from '@mailwarden/checks';
import { DEFAULT_MAIL_SERVICES, probeMx } from '@mailwarden/net';
import { startCanary } from '@mailwarden/testing/https-server';
import {
  garbage,
  hugeBanner,
  imapServer,
  pop3Server,
  type RawFixture,
  scriptedSmtp,
  tarpit,
} from '@mailwarden/testing/smtp-server';
import { issueCert } from '@mailwarden/testing/tls';
import { describe, expect, it } from 'vitest';

import {
  ca,
  contextFor,
  DAY_MS,
  good,
  options,
  raw,
  run,
  secureContext,
  servers,
  smtp,
} from './mx-probe-kit.ts';

describe('hostile servers end as untestable, never a crash or a hang', () => {
  const cases: [string, string, () => Promise<RawFixture>, string, string][] = [
    ['a tarpit that never greets', '127.0.8.31', () => raw('127.0.8.31', tarpit()), 'tarpit', 'banner'],
    [
      'a greeting dripped a byte at a time',
      '127.0.8.32',
      () => raw('127.0.8.32', tarpit(200)),
      'tarpit',
      'banner',
    ],
    ['garbage instead of SMTP', '127.0.8.33', () => raw('127.0.8.33', garbage()), 'protocol_error', 'banner'],
    [
      'a 10 MB one-line banner',
      '127.0.8.34',
      () => raw('127.0.8.34', hugeBanner(10 * 1024 * 1024, 'line')),
      'reply_too_large',
      'banner',
    ],
    [
      'a 10 MB banner of continuation lines',
      '127.0.8.35',
      () => raw('127.0.8.35', hugeBanner(10 * 1024 * 1024, 'lines')),
      'reply_too_large',
      'banner',
    ],
    [
      'a 421 greeting',
      '127.0.8.36',
      () => raw('127.0.8.36', scriptedSmtp({ greeting: '421 4.3.2 busy, try later' })),
      'service_unavailable',
      'banner',
    ],
    [
      'a reset in the middle of the TLS handshake',
      '127.0.8.37',
      async () =>
        raw(
          '127.0.8.37',
          scriptedSmtp({ keywords: ['STARTTLS'], tls: secureContext(good), resetOnClientHello: true }),
        ),
      'connection_reset',
      'tls_handshake',
    ],
  ];
  cases.push([
    'a server that never answers the ClientHello',
    '127.0.8.40',
    async () =>
      raw(
        '127.0.8.40',
        scriptedSmtp({ keywords: ['STARTTLS'], tls: secureContext(good), silentAfterStarttls: true }),
      ),
    'tarpit',
    'tls_handshake',
  ]);
  for (const [name, , start, reason, stage] of cases) {
    it(`should call ${name} untestable (${reason})`, async () => {
      const s = await start();
      const started = Date.now();
      const { result, analysis, codes } = await run('mx.good.test', s);
      expect(Date.now() - started).toBeLessThan(6000);
      expect(result.addresses[0]).toMatchObject({ outcome: 'untestable', untestable: { reason, stage } });
      expect(analysis.status).toBe('untestable');
      expect(codes).toEqual(['smtp.probe_untestable']);
    });
  }

  it('should test a slow server that still answers within the reply deadline', async () => {
    const s = await smtp({ host: '127.0.8.41', greetingDelayMs: 600 });
    const { analysis } = await run('mx.good.test', s);
    expect(analysis.status).toBe('ok');
  });

  it('should call a closed port untestable (connection_refused)', async () => {
    const s = await smtp({ host: '127.0.8.38' });
    const port = s.port;
    await s.close();
    const { result } = await run('mx.good.test', { host: '127.0.8.38', port });
    expect(result.addresses[0]?.untestable).toMatchObject({ reason: 'connection_refused', stage: 'connect' });
  });

  it('should refuse a non-public address without PROBE_ALLOW_CIDRS and dial nothing', async () => {
    const canary = await startCanary({ host: '127.0.8.39' });
    servers.push(canary);
    const result = await probeMx('mx.good.test', [canary.host], {
      ...options({ port: canary.port }),
      allow: [],
    });
    const analysis = await analyseMxProbe(result, contextFor());
    expect(result.addresses[0]).toMatchObject({ outcome: 'refused', refused: { verdict: 'loopback' } });
    expect(analysis.findings.map((f) => f.code)).toEqual(['smtp.address_not_public']);
    expect(canary.seen).toEqual([]);
  });
});

describe('other mail ports (opt-in)', () => {
  it('should report plaintext-only services and judge the certificates of the others', async () => {
    const expired = await issueCert(ca, {
      names: ['mx.good.test'],
      notBefore: new Date(Date.now() - 60 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const host = '127.0.8.50';
    const submission = await smtp({ host });
    const submissions = await smtp({ host, implicitTls: true });
    const imapTls = await raw(host, imapServer({ starttls: secureContext(good) }));
    const imaps = await raw(host, imapServer({ implicit: secureContext(expired) }));
    const pop3Plain = await raw(host, pop3Server({}));
    const pop3Tls = await raw(host, pop3Server({ stls: secureContext(good) }));
    const smtpServer = await smtp({ host });
    const { result, codes, analysis } = await run('mx.good.test', smtpServer, {
      services: [
        { service: 'submission', port: submission.port },
        { service: 'submissions', port: submissions.port },
        { service: 'imap', port: imapTls.port },
        { service: 'imaps', port: imaps.port },
        { service: 'pop3', port: pop3Plain.port },
        { service: 'pop3s', port: 1 },
        { service: 'pop3', port: pop3Tls.port },
      ],
    });
    expect(
      result.services.map((s) => [s.service, s.outcome, s.starttls?.outcome ?? null, s.tls ? 'tls' : null]),
    ).toEqual([
      ['submission', 'tested', 'ok', 'tls'],
      ['submissions', 'tested', null, 'tls'],
      ['imap', 'tested', 'ok', 'tls'],
      ['imaps', 'tested', null, 'tls'],
      ['pop3', 'tested', 'not_offered', null],
      ['pop3s', 'closed', null, null],
      ['pop3', 'tested', 'ok', 'tls'],
    ]);
    expect(codes).toEqual(['tls.cert_expired', 'tls.plaintext_service']);
    const subjects = analysis.findings.map((f) => f.subject).sort();
    expect(subjects).toEqual(
      [`mx.good.test [${host}]:${imaps.port}`, `mx.good.test [${host}]:${pop3Plain.port}`].sort(),
    );
    expect(DEFAULT_MAIL_SERVICES.map((s) => s.port)).toEqual([587, 465, 143, 993, 110, 995]);
    expect(imapTls.commands).not.toContainEqual(expect.stringMatching(/LOGIN|AUTHENTICATE/i));
  });
});
