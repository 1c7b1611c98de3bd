/**
 * The bounded reader and the SMTP reply parser over real loopback sockets, and the probe limiter.
 * Hostile peers here are one write away: an endless line, an endless reply, a flood of lines,
 * a silent peer.
 */
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PROBE_LIMITS } from './conversation.ts';
import { createProbeLimiter } from './limiter.ts';
import { LineReader } from './line-reader.ts';
import { ehloKeywords, readReply } from './reply.ts';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

/** A connected pair on 127.0.0.1: `server` writes what the test wants, `client` is read. */
async function pair(): Promise<{ server: net.Socket; client: net.Socket }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect((listener.address() as AddressInfo).port, '127.0.0.1');
  const server = await accepted;
  server.on('error', () => {});
  cleanup.push(() => {
    client.destroy();
    server.destroy();
    listener.close();
  });
  return { server, client };
}

const deadlines = (replyTimeoutMs = 500) => ({ sessionEndsAt: Date.now() + 5000, replyTimeoutMs });

describe(readReply.name, () => {
  it('should read multi-line replies, split across writes, with CRLF or bare LF', async () => {
    const { server, client } = await pair();
    const reader = new LineReader(client, DEFAULT_PROBE_LIMITS);
    server.write('250-mx.example.test hello\r\n250-SIZE 1000');
    setTimeout(() => server.write('0\r\n250-AUTH=LOGIN PLAIN\n250-auth cram-md5\r\n250 STARTTLS\r\n'), 20);
    const r = await readReply(reader, DEFAULT_PROBE_LIMITS, deadlines());
    expect(r).toEqual({
      ok: true,
      reply: {
        code: 250,
        lines: ['mx.example.test hello', 'SIZE 10000', 'AUTH=LOGIN PLAIN', 'auth cram-md5', 'STARTTLS'],
      },
    });
    if (r.ok) {
      expect(ehloKeywords(r.reply)).toEqual({
        SIZE: ['10000'],
        AUTH: ['LOGIN', 'PLAIN', 'CRAM-MD5'],
        STARTTLS: [],
      });
    }
  });

  it('should end an endless line after maxLineBytes and close the socket', async () => {
    const { server, client } = await pair();
    const reader = new LineReader(client, DEFAULT_PROBE_LIMITS);
    server.write(`220 ${'x'.repeat(DEFAULT_PROBE_LIMITS.maxLineBytes + 10)}`);
    const r = await readReply(reader, DEFAULT_PROBE_LIMITS, deadlines());
    expect(r).toMatchObject({ ok: false, failure: { kind: 'line_too_long' } });
    expect(client.destroyed).toBe(true);
  });

  it('should stop reading a 10 MB banner after the first few kilobytes', async () => {
    const { server, client } = await pair();
    const reader = new LineReader(client, DEFAULT_PROBE_LIMITS);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    const pump = () => {
      while (written < 10 * 1024 * 1024 && !server.destroyed) {
        written += chunk.length;
        if (!server.write(chunk)) return void server.once('drain', pump);
      }
    };
    server.write('220 ');
    pump();
    const r = await readReply(reader, DEFAULT_PROBE_LIMITS, deadlines());
    expect(r).toMatchObject({ ok: false, failure: { kind: 'line_too_long' } });
    // One socket read past the limit at most: the rest of the 10 MB is never taken in.
    expect(reader.bytesReceived).toBeLessThan(DEFAULT_PROBE_LIMITS.maxLineBytes + 256 * 1024);
  });

  it('should end a reply with too many lines', async () => {
    const { server, client } = await pair();
    const reader = new LineReader(client, DEFAULT_PROBE_LIMITS);
    server.write('220-more\r\n'.repeat(DEFAULT_PROBE_LIMITS.maxReplyLines + 1));
    const r = await readReply(reader, DEFAULT_PROBE_LIMITS, deadlines());
    expect(r).toMatchObject({ ok: false, failure: { kind: 'reply_too_large' } });
  });

  it('should refuse to buffer a flood of unread lines', async () => {
    const { server, client } = await pair();
    const reader = new LineReader(client, DEFAULT_PROBE_LIMITS);
    server.write('250 ok\r\n'.repeat(20_000));
    await new Promise((resolve) => client.once('close', resolve));
    const r = await reader.next(100);
    expect(r).toMatchObject({ ok: false, failure: { kind: 'flood' } });
  });

  it('should call a silent peer a tarpit, and the session deadline a timeout', async () => {
    const { client } = await pair();
    const reader = new LineReader(client, DEFAULT_PROBE_LIMITS);
    expect(await readReply(reader, DEFAULT_PROBE_LIMITS, deadlines(50))).toMatchObject({
      ok: false,
      failure: { kind: 'tarpit' },
    });
    expect(
      await readReply(reader, DEFAULT_PROBE_LIMITS, { sessionEndsAt: Date.now() + 30, replyTimeoutMs: 1000 }),
    ).toMatchObject({ ok: false, failure: { kind: 'timeout' } });
  });

  it('should call non-SMTP text a protocol error, and a hang-up closed', async () => {
    const a = await pair();
    a.server.write('SSH-2.0-OpenSSH_9.6\r\n');
    const garbage = await readReply(
      new LineReader(a.client, DEFAULT_PROBE_LIMITS),
      DEFAULT_PROBE_LIMITS,
      deadlines(),
    );
    expect(garbage).toMatchObject({ ok: false, failure: { kind: 'protocol_error' } });
    const b = await pair();
    b.server.end('220-half a reply\r\n');
    const closed = await readReply(
      new LineReader(b.client, DEFAULT_PROBE_LIMITS),
      DEFAULT_PROBE_LIMITS,
      deadlines(),
    );
    expect(closed).toMatchObject({ ok: false, failure: { kind: 'closed' } });
  });
});

describe(createProbeLimiter.name, () => {
  it('should run one task per key at a time and forget keys that drained', async () => {
    const limiter = createProbeLimiter({ connectionsPerSecond: Number.POSITIVE_INFINITY });
    let running = 0;
    let most = 0;
    const task = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
    };
    await Promise.all([
      limiter.exclusive('a', task),
      limiter.exclusive('a', task),
      limiter.exclusive('a', task),
    ]);
    expect(most).toBe(1);
    await Promise.all([limiter.exclusive('b', task), limiter.exclusive('c', task)]);
    expect(most).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(limiter.activeKeys()).toBe(0);
    await expect(limiter.exclusive('d', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.exclusive('d', () => Promise.resolve(7))).resolves.toBe(7);
  });

  it('should pace connections to the rate after the burst', async () => {
    const limiter = createProbeLimiter({ connectionsPerSecond: 50, burst: 2 });
    const started = Date.now();
    for (let i = 0; i < 6; i++) await limiter.connectionSlot();
    // Two free, then four at 20 ms each.
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
  });
});
