import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('should redact authorization headers, cookies and secrets', () => {
    const { lines, stream } = capture();
    const log = createLogger('info', 'test', stream);
    log.info(
      {
        req: { headers: { authorization: 'Bearer mw_live_abc', cookie: 'sid=1', host: 'x' } },
        body: { password: 'correct horse', email: 'a@example.com' },
        endpoint: { webhookUrl: 'https://hooks.example/T0/secret' },
        apiKey: 'mw_123',
      },
      'request',
    );
    const text = lines.join('');
    expect(text).not.toContain('mw_live_abc');
    expect(text).not.toContain('sid=1');
    expect(text).not.toContain('correct horse');
    expect(text).not.toContain('hooks.example');
    expect(text).not.toContain('mw_123');
    expect(text).toContain('a@example.com');
    const record = JSON.parse(lines[0]!);
    expect(record.level).toBe('info');
    expect(record.req.headers.authorization).toBe('[redacted]');
  });
});

describe('redactSecrets', () => {
  it('should censor secrets at any depth and inside arrays without touching the input', async () => {
    const { redactSecrets } = await import('./logger.ts');
    const input = {
      user: { email: 'a@example.com', credentials: [{ refresh_token: 'r1', kind: 'refresh' }] },
      headers: { Authorization: 'Bearer x', 'Set-Cookie': 'a=b', accept: 'json' },
      clientSecret: 's',
      count: 3,
    };
    const out = redactSecrets(input);
    expect(out).toEqual({
      user: { email: 'a@example.com', credentials: [{ refresh_token: '[redacted]', kind: 'refresh' }] },
      headers: { Authorization: '[redacted]', 'Set-Cookie': '[redacted]', accept: 'json' },
      clientSecret: '[redacted]',
      count: 3,
    });
    expect(input.user.credentials[0]!.refresh_token).toBe('r1');
    // Nothing to censor: the very same object comes back, no copy made.
    const clean = { method: 'GET', url: '/v1/meta', statusCode: 200 };
    expect(redactSecrets(clean)).toBe(clean);
  });
});
