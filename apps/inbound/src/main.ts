import { readFileSync } from 'node:fs';
import { ConfigError, createLogger, systemClock } from '@mailwarden/core';
import { createDatabase, createPool } from '@mailwarden/db';
import { createProducer, createRedisConnection, parseReportJobId, queueNames } from '@mailwarden/queue';
import { type InboundConfig, loadInboundConfig } from './config.ts';
import { createReportReceiver } from './smtp-receiver.ts';

/**
 * Process entry of the inbound report-mail receiver: the SMTP listener of report addresses
 * (smtp-receiver.ts), over the app's Postgres role and the job queue. SIGTERM/SIGINT stop taking
 * connections and let the ones in flight finish.
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

function readTls(config: InboundConfig): { certPem: string; keyPem: string } | undefined | null {
  if (!config.INBOUND_TLS_CERT_FILE && !config.INBOUND_TLS_KEY_FILE) return undefined;
  try {
    return {
      certPem: readFileSync(config.INBOUND_TLS_CERT_FILE, 'utf8'),
      keyPem: readFileSync(config.INBOUND_TLS_KEY_FILE, 'utf8'),
    };
  } catch (err) {
    console.error(
      `invalid configuration:\n  - INBOUND_TLS_CERT_FILE/INBOUND_TLS_KEY_FILE: ${(err as Error).message}`,
    );
    return null;
  }
}

async function run(config: InboundConfig): Promise<void> {
  const tls = readTls(config);
  if (tls === null) {
    process.exitCode = exitConfigError;
    return;
  }
  const logger = createLogger(config.LOG_LEVEL, 'inbound');
  const pool = createPool(config.DATABASE_URL, { applicationName: 'mailwarden-inbound' });
  const db = createDatabase(pool);
  const redis = createRedisConnection(config.REDIS_URL, 'producer', {
    lazyConnect: true,
    onError: (err) => logger.warn({ err }, 'redis connection error'),
  });
  const producer = createProducer(redis, config.QUEUE_PREFIX);
  const receiver = createReportReceiver({
    db,
    clock: systemClock,
    logger,
    domain: config.INBOUND_DOMAIN,
    maxMessageBytes: config.INBOUND_MAX_MESSAGE_BYTES,
    maxConnections: config.INBOUND_MAX_CONNECTIONS,
    maxConnectionsPerIp: config.INBOUND_MAX_CONNECTIONS_PER_IP,
    ...(tls ? { tls } : {}),
    async enqueueParse(tenantId, rawReportId) {
      await producer.enqueue(
        queueNames.reports,
        'parse-report',
        { tenantId, rawReportId },
        { jobId: parseReportJobId(rawReportId) },
      );
    },
  });
  const address = await receiver.listen(config.INBOUND_SMTP_HOST, config.INBOUND_SMTP_PORT);

  function stop(signal: NodeJS.Signals): void {
    logger.info({ signal }, 'inbound stopping');
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    void (async () => {
      await receiver.close();
      await producer.close().catch(() => {});
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
      await pool.end();
      logger.info('inbound stopped');
    })();
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  // The database URL is deliberately absent: it may carry a password.
  logger.info(
    {
      mode: config.mode,
      smtpHost: config.INBOUND_SMTP_HOST,
      smtpPort: address.port,
      domain: config.INBOUND_DOMAIN,
      starttls: Boolean(tls),
    },
    'inbound ready',
  );
}

const config = loadConfig();
if (config) await run(config);
