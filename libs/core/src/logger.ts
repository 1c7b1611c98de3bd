import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/**
 * Paths never written to a log. Authorization headers, cookies, API keys, refresh tokens, TOTP
 * seeds, webhook URLs (they often embed a token) and anything named like a secret.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.apiKey',
  '*.secret',
  '*.totpSecret',
  '*.webhookUrl',
  '*.encryptionKey',
  'password',
  'token',
  'apiKey',
  'secret',
  'webhookUrl',
];

export function loggerOptions(level: string, name: string): LoggerOptions {
  return {
    level,
    name,
    redact: { paths: redactPaths, censor: '[redacted]' },
    // Stable JSON for log pipelines; the time as ISO text is easier to read than epoch millis.
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

export function createLogger(level: string, name: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level, name), destination) : pino(loggerOptions(level, name));
}
