import { describe, expect, it } from 'vitest';
import { ConfigError, int, list, parseConfig, parseDeploymentMode, secret, str, url } from './config.ts';

const schema = {
  DATABASE_URL: url('Postgres URL', ['postgres:', 'postgresql:'], 'postgres://localhost/x'),
  PORT: int('port', { min: 1, max: 65535 }, 3000),
  NAME: str('a required name'),
  ENCRYPTION_KEY: secret('key', { minLength: 32, devFallback: () => 'd'.repeat(32) }),
  SERVERS: list('servers', (raw) => {
    if (!/^\d+$/.test(raw)) throw new Error('is not a number');
    return Number(raw);
  }),
};

describe('parseConfig', () => {
  it('should parse values and apply fallbacks', () => {
    const config = parseConfig(schema, { NAME: 'x', SERVERS: '1, 2,,3' }, 'development');
    expect(config).toEqual({
      DATABASE_URL: 'postgres://localhost/x',
      PORT: 3000,
      NAME: 'x',
      ENCRYPTION_KEY: 'd'.repeat(32),
      SERVERS: [1, 2, 3],
    });
  });

  it('should report every bad or missing variable in one error', () => {
    let caught: unknown;
    try {
      parseConfig(schema, { DATABASE_URL: 'mysql://x', PORT: '70000', SERVERS: 'a,2,b' }, 'development');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/DATABASE_URL=<redacted>: protocol/);
    expect(problems.join('\n')).toMatch(/PORT=.*between 1 and 65535/);
    expect(problems.join('\n')).toMatch(/NAME is required/);
    expect(problems.join('\n')).toMatch(/SERVERS=.*"a" is not a number; "b" is not a number/);
  });

  it('should refuse to invent a secret in production', () => {
    expect(() => parseConfig(schema, { NAME: 'x', SERVERS: '1' }, 'production')).toThrow(
      /ENCRYPTION_KEY is required/,
    );
  });

  it('should never echo a secret value in an error', () => {
    expect(() =>
      parseConfig(schema, { NAME: 'x', SERVERS: '1', ENCRYPTION_KEY: 'hunter2' }, 'production'),
    ).toThrow(/ENCRYPTION_KEY=<redacted>: must be at least 32/);
  });

  it('should accept only the known deployment modes', () => {
    expect(parseDeploymentMode(undefined)).toBe('development');
    expect(parseDeploymentMode('production')).toBe('production');
    expect(() => parseDeploymentMode('prod')).toThrow(ConfigError);
  });
});
