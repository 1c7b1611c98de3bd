import { describe, expect, it } from 'vitest';
import { classifyImapError, vetRefusalError } from './imap-errors.ts';

/** What imapflow and Node throw, in the shapes they throw them (see mailbox-guards.test.ts for the real thing). */
const failure = (props: Record<string, unknown>) =>
  Object.assign(new Error(String(props.message ?? 'x')), props);

describe('classifyImapError', () => {
  it('should tell a wrong password from a server that cannot check it now', () => {
    expect(
      classifyImapError(
        failure({
          authenticationFailed: true,
          serverResponseCode: 'AUTHENTICATIONFAILED',
          responseText: 'no',
        }),
        'connect',
      ).code,
    ).toBe('imap.auth_failed');
    expect(
      classifyImapError(failure({ authenticationFailed: true, serverResponseCode: 'UNAVAILABLE' }), 'connect')
        .code,
    ).toBe('imap.server_unavailable');
  });

  it('should add the OAuth status a server gave a refused bearer, and nothing else of its JSON', () => {
    const refused = (oauthError: unknown) =>
      classifyImapError(
        failure({
          authenticationFailed: true,
          serverResponseCode: 'AUTHENTICATIONFAILED',
          responseText: 'Authentication failed.',
          oauthError,
        }),
        'connect',
      );
    expect(refused({ status: 'invalid_token', scope: 'https://mail.test/' })).toEqual({
      code: 'imap.auth_failed',
      detail: '[AUTHENTICATIONFAILED] Authentication failed. (OAuth status invalid_token)',
    });
    // A status that is not an RFC 6749 error token (quotes, control characters, too long) is left out.
    for (const status of ['a"b', 'x\u0001y', 'e'.repeat(65), 42])
      expect(refused({ status }).detail).toBe('[AUTHENTICATIONFAILED] Authentication failed.');
    expect(refused(false).detail).toBe('[AUTHENTICATIONFAILED] Authentication failed.');
    // imapflow's answer when given a token by a server without OAUTHBEARER or XOAUTH2.
    expect(classifyImapError(new Error('Unsupported authentication mechanism'), 'connect')).toEqual({
      code: 'imap.auth_failed',
      detail: 'the server offers no OAuth login (AUTH=OAUTHBEARER or AUTH=XOAUTH2)',
    });
  });

  it('should name TLS, STARTTLS, timeouts and oversized responses', () => {
    expect(classifyImapError(failure({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), 'connect').code).toBe(
      'imap.tls_failed',
    );
    expect(classifyImapError(failure({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), 'connect').code).toBe(
      'imap.tls_failed',
    );
    expect(
      classifyImapError(failure({ message: 'Server does not support STARTTLS', tlsFailed: true }), 'connect')
        .code,
    ).toBe('imap.starttls_unavailable');
    expect(
      classifyImapError(
        failure({ code: 'STARTTLS_INJECTION', tlsFailed: true, message: 'data after the STARTTLS response' }),
        'connect',
      ).code,
    ).toBe('imap.tls_failed');
    for (const code of ['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ETIMEOUT'])
      expect(
        classifyImapError(failure({ code, tlsFailed: code === 'UPGRADE_TIMEOUT' }), 'connect').code,
        code,
      ).toBe('imap.timeout');
    expect(classifyImapError(failure({ code: 'LiteralTooLarge' }), 'fetch').code).toBe(
      'imap.response_too_large',
    );
  });

  it('should read a NO by the step it answered', () => {
    const no = () =>
      failure({
        responseStatus: 'NO',
        responseText: 'Mailbox does not exist',
        serverResponseCode: 'NONEXISTENT',
      });
    expect(classifyImapError(no(), 'open')).toEqual({
      code: 'imap.folder_missing',
      detail: '[NONEXISTENT] Mailbox does not exist',
    });
    expect(classifyImapError(no(), 'prepare').code).toBe('imap.move_folder_failed');
    expect(classifyImapError(no(), 'ack').code).toBe('imap.ack_failed');
    expect(classifyImapError(no(), 'fetch').code).toBe('imap.protocol_error');
  });

  it('should strip control characters from server text and bound its length', () => {
    const { detail } = classifyImapError(
      failure({ responseStatus: 'NO', responseText: `bad\r\n* OK injected${'x'.repeat(900)}` }),
      'open',
    );
    expect(detail).not.toMatch(/[\r\n]/);
    expect(detail.length).toBeLessThanOrEqual(500);
  });
});

describe('vetRefusalError', () => {
  it('should keep a failure to know apart from a refusal', () => {
    expect(
      vetRefusalError({
        reason: 'ssrf_refused',
        host: 'a.test',
        refused: [],
        detail: 'a.test resolves to 10.0.0.1 (private)',
      }).code,
    ).toBe('imap.host_refused');
    expect(vetRefusalError({ reason: 'dns_unknown', host: 'a.test', detail: 'A timeout' }).code).toBe(
      'imap.dns_failed',
    );
    expect(vetRefusalError({ reason: 'dns_no_address', host: 'a.test', detail: 'nxdomain' }).code).toBe(
      'imap.dns_no_address',
    );
  });
});
