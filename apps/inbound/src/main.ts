import { ConfigError, createLogger } from '@mailwarden/core';
import { type InboundConfig, loadInboundConfig } from './config.ts';

/**
 * Process entry of the inbound report-mail receiver. For now it only validates its configuration,
 * announces itself and waits for SIGTERM/SIGINT; the SMTP listener comes in a later change.
 */

/** sysexits.h EX_CONFIG: a supervisor can tell "fix the configuration" from a crash. */
const exitConfigError = 78;

function loadConfig(): InboundConfig | undefined {
  try {
    return loadInboundConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exitCode = exitConfigError;
    return undefined;
  }
}

function run(config: InboundConfig): void {
  const logger = createLogger(config.LOG_LEVEL, 'inbound');
  // Nothing else holds the event loop open until the SMTP listener exists; this timer stands in.
  const keepAlive = setInterval(() => {}, 2 ** 30);

  function stop(signal: NodeJS.Signals): void {
    logger.info({ signal }, 'inbound stopping');
    clearInterval(keepAlive);
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    logger.info('inbound stopped');
    // The process ends on its own once nothing is pending, with exit code 0.
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  // The database URL is deliberately absent: it may carry a password.
  logger.info(
    {
      mode: config.mode,
      smtpHost: config.INBOUND_SMTP_HOST,
      smtpPort: config.INBOUND_SMTP_PORT,
      domain: config.INBOUND_DOMAIN,
    },
    'inbound ready',
  );
}

const config = loadConfig();
if (config) run(config);
