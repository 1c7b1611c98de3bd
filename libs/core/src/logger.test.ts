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
