import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const mainPath = fileURLToPath(new URL('./main.ts', import.meta.url));

interface Run {
  child: ChildProcess;
  lines: () => Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [mainPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const lines = () =>
    stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, lines, stderr: () => stderr, exited };
}

async function waitFor(run: Run, msg: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = run.lines().find((l) => l.msg === msg);
    if (found) return found;
    if (run.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no "${msg}" line; stderr: ${run.stderr()}`);
}

describe('inbound process (main.ts)', () => {
  it('should start, log a ready line and exit 0 on SIGTERM', async () => {
    const run = start({
      MAILWARDEN_ENV: 'test',
      DATABASE_URL: 'postgres://app:hunter2@127.0.0.1:5432/mailwarden',
      INBOUND_SMTP_PORT: '2626',
      INBOUND_DOMAIN: 'Reports.Example.COM.',
    });
    try {
      const ready = await waitFor(run, 'inbound ready');
      expect(ready).toMatchObject({
        level: 'info',
        name: 'inbound',
        smtpHost: '127.0.0.1',
        smtpPort: 2626,
        domain: 'reports.example.com',
      });
      // Still running: only a signal ends it.
      expect(run.child.exitCode).toBeNull();
      run.child.kill('SIGTERM');
      expect(await run.exited).toEqual({ code: 0, signal: null });
      expect(run.lines().map((l) => l.msg)).toEqual(['inbound ready', 'inbound stopping', 'inbound stopped']);
      expect(JSON.stringify(run.lines())).not.toContain('hunter2');
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('should stop on SIGINT as well', async () => {
    const run = start({ MAILWARDEN_ENV: 'test' });
    try {
      await waitFor(run, 'inbound ready');
      run.child.kill('SIGINT');
      expect(await run.exited).toEqual({ code: 0, signal: null });
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('should exit 78 listing every bad variable on stderr', async () => {
    const run = start({ INBOUND_SMTP_PORT: '70000', INBOUND_DOMAIN: 'not a domain', LOG_LEVEL: 'chatty' });
    expect(await run.exited).toEqual({ code: 78, signal: null });
    for (const name of ['INBOUND_SMTP_PORT', 'INBOUND_DOMAIN', 'LOG_LEVEL']) {
      expect(run.stderr()).toContain(name);
    }
    expect(run.lines()).toEqual([]);
  });
});
