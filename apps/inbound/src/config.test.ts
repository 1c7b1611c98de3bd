import { ConfigError } from '@mailwarden/core';
import { describe, expect, it } from 'vitest';
import { loadInboundConfig } from './config.ts';

describe('loadInboundConfig', () => {
  it('should apply the documented defaults', () => {
    expect(loadInboundConfig({})).toEqual({
      mode: 'development',
      LOG_LEVEL: 'info',
      DATABASE_URL: 'postgres://mailwarden@127.0.0.1:5432/mailwarden',
      INBOUND_SMTP_HOST: '127.0.0.1',
      INBOUND_SMTP_PORT: 2525,
      INBOUND_DOMAIN: 'reports.localhost',
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'mw',
      INBOUND_MAX_MESSAGE_BYTES: 32 * 1024 * 1024,
      INBOUND_MAX_CONNECTIONS: 500,
      INBOUND_MAX_CONNECTIONS_PER_IP: 10,
      INBOUND_TLS_CERT_FILE: '',
      INBOUND_TLS_KEY_FILE: '',
    });
  });

  it('should normalise the domain to lower case without the root dot', () => {
    expect(loadInboundConfig({ INBOUND_DOMAIN: 'DMARC.Example.org.' }).INBOUND_DOMAIN).toBe(
      'dmarc.example.org',
    );
  });

  it('should report every bad variable in one error without echoing URLs', () => {
    let caught: unknown;
    try {
      loadInboundConfig({
        MAILWARDEN_ENV: 'qa',
        DATABASE_URL: 'mysql://u:hunter2@db/x',
        INBOUND_SMTP_PORT: '-1',
        INBOUND_DOMAIN: '-bad-.example',
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems.map((p) => p.split('=')[0])).toEqual([
      'MAILWARDEN_ENV',
      'DATABASE_URL',
      'INBOUND_SMTP_PORT',
      'INBOUND_DOMAIN',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});
