import { ConfigError } from '@mailwarden/core';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './config.ts';

describe('loadWorkerConfig', () => {
  it('should apply the documented defaults', () => {
    const config = loadWorkerConfig({ DNS_SERVERS: '127.0.0.1:5353' });
    expect(config.ENCRYPTION_KEY).toHaveLength(32);
    expect(config.DNS_SERVERS).toEqual([{ host: '127.0.0.1', port: 5353 }]);
    expect(config).toMatchObject({
      PROBE_ALLOW_CIDRS: [],
      TLS_EXTRA_CA_FILE: [],
      CHECKS_DNS_CONCURRENCY: 64,
      CHECKS_TLS_CONCURRENCY: 8,
      SCHEDULER_TICK_MS: 15_000,
      WEBHOOK_TIMEOUT_MS: 15_000,
      WEBHOOK_ALLOW_HTTP: false,
    });
    expect(config).toMatchObject({
      mode: 'development',
      LOG_LEVEL: 'info',
      DATABASE_URL: 'postgres://mailwarden@127.0.0.1:5432/mailwarden',
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'mw',
      WORKER_HTTP_HOST: '127.0.0.1',
      WORKER_HTTP_PORT: 9464,
      WORKER_SHUTDOWN_TIMEOUT_MS: 30_000,
      WORKER_CONCURRENCY: 8,
      WORKER_LOCK_DURATION_MS: 30_000,
      WORKER_STALLED_INTERVAL_MS: 30_000,
    });
  });

  it('should accept port 0 and explicit values', () => {
    const config = loadWorkerConfig({
      MAILWARDEN_ENV: 'production',
      DATABASE_URL: 'postgres://app@db.internal:5432/mailwarden',
      WORKER_HTTP_PORT: '0',
      QUEUE_PREFIX: 'test-3f1c',
      REDIS_URL: 'rediss://cache.internal:6380',
      LOG_LEVEL: 'debug',
      DNS_SERVERS: '10.0.0.53, [2001:db8::53]:5353',
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    expect(config.DNS_SERVERS).toEqual([
      { host: '10.0.0.53', port: 53 },
      { host: '2001:db8::53', port: 5353 },
    ]);
    expect(config).toMatchObject({
      mode: 'production',
      WORKER_HTTP_PORT: 0,
      QUEUE_PREFIX: 'test-3f1c',
      REDIS_URL: 'rediss://cache.internal:6380',
      LOG_LEVEL: 'debug',
    });
  });

  it('should refuse to start tests without their own DNS server, and production without a key', () => {
    expect(() => loadWorkerConfig({ MAILWARDEN_ENV: 'test' })).toThrow(/DNS_SERVERS is required/);
    expect(() => loadWorkerConfig({ MAILWARDEN_ENV: 'production', DNS_SERVERS: '10.0.0.53' })).toThrow(
      /ENCRYPTION_KEY is required/,
    );
  });

  it('should report every bad variable, the deployment mode included, in one error', () => {
    let caught: unknown;
    try {
      loadWorkerConfig({
        MAILWARDEN_ENV: 'staging',
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'mysql://app:hunter2@db/x',
        QUEUE_PREFIX: 'a:b',
        WORKER_HTTP_PORT: '65536',
        WORKER_CONCURRENCY: 'many',
        WORKER_LOCK_DURATION_MS: '10',
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toHaveLength(7);
    for (const name of [
      'MAILWARDEN_ENV',
      'LOG_LEVEL',
      'DATABASE_URL',
      'QUEUE_PREFIX',
      'WORKER_HTTP_PORT',
      'WORKER_CONCURRENCY',
      'WORKER_LOCK_DURATION_MS',
    ]) {
      expect(problems.some((p) => p.startsWith(`${name}=`))).toBe(true);
    }
    // A URL can carry a password: it is never echoed back.
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});
