import {
  type ConfigOf,
  type DeploymentMode,
  int,
  loadConfig,
  logLevel,
  str,
  type VariableSpec,
} from '@mailwarden/core';
import { databaseVariables } from '@mailwarden/db';

/**
 * The inbound (report mail receiver) configuration, read once at start. This is the only file of
 * the app that reads `process.env`.
 */

/** The mail domain of the rua/TLS-RPT addresses; a bare DNS name, compared case-insensitively. */
const inboundDomain: VariableSpec<string> = {
  description: 'domain of the report addresses (rua=mailto:…@<domain>)',
  fallback: 'reports.localhost',
  parse(raw) {
    const value = raw.toLowerCase().replace(/\.$/, '');
    const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
    if (value.length > 253 || !value.split('.').every((l) => label.test(l))) {
      throw new Error('must be a domain name such as reports.example.com');
    }
    return value;
  },
};

const schema = {
  LOG_LEVEL: logLevel(),
  DATABASE_URL: databaseVariables.DATABASE_URL,
  INBOUND_SMTP_HOST: str('address the SMTP receiver binds to', '127.0.0.1'),
  // 0 asks the kernel for a free port (tests).
  INBOUND_SMTP_PORT: int('port the SMTP receiver binds to', { min: 0, max: 65_535 }, 2525),
  INBOUND_DOMAIN: inboundDomain,
};

export type InboundConfig = ConfigOf<typeof schema> & { mode: DeploymentMode };

/** Every bad or missing variable, the deployment mode included, is reported in one ConfigError. */
export function loadInboundConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): InboundConfig {
  return loadConfig(schema, env);
}
