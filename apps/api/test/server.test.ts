import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const serverPath = fileURLToPath(new URL('../src/server.ts', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('server.ts', () => {
  it('should serve, then close the port and exit 0 on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [serverPath], {
      env: {
        PATH: process.env.PATH,
        MAILWARDEN_ENV: 'test',
        LOG_LEVEL: 'warn',
        API_PORT: String(port),
        DATABASE_URL: inject('databaseUrl'),
        REDIS_KEY_PREFIX: `test-server-${port}`,
        DNS_SERVERS: '127.0.0.1:9',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = exitOf(child);
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const base = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      ready = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready, stderr).toBe(true);
    expect(await (await fetch(`${base}/v1/meta`)).json()).toMatchObject({ service: 'mailwarden' });

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('should list every bad variable and exit 78 when the configuration is wrong', async () => {
    const child = spawn(process.execPath, [serverPath], {
      env: {
        PATH: process.env.PATH,
        MAILWARDEN_ENV: 'production',
        API_PORT: 'eighty',
        REDIS_URL: 'http://x',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    expect(await exitOf(child)).toBe(78);
    expect(stderr).toContain('API_PORT="eighty": must be an integer');
    expect(stderr).toContain('REDIS_URL=<redacted>: protocol must be one of redis:, rediss:');
    expect(stderr).toContain('DATABASE_URL is required');
    expect(stderr).toContain('ENCRYPTION_KEY is required');
    expect(stderr).toContain('PUBLIC_BASE_URL is required');
  });
});
