import { randomUUID } from 'node:crypto';
import { loggerOptions } from '@mailwarden/core';
import { type FastifyServerOptions, LogController } from 'fastify';
import { pino } from 'pino';
import type { ApiConfig } from './config.ts';

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * The Fastify instance settings shared by server.ts and tests: timeouts so slow clients cannot
 * hold sockets, a body limit, strict validation (unknown fields are refused, never silently
 * dropped), and request ids that accept a well-formed incoming `x-request-id`.
 */
export function fastifyOptions(config: ApiConfig): FastifyServerOptions {
  return {
    logger:
      config.LOG_LEVEL === 'silent'
        ? false
        : {
            ...loggerOptions(config.LOG_LEVEL, 'api'),
            // Buffered, asynchronous writes: logging must not block the event loop on stdout.
            // pino flushes the buffer when the process exits.
            stream: pino.destination({ dest: 1, sync: false, minLength: 4096 }),
          },
    // request-log.ts writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.TRUST_PROXY,
    bodyLimit: config.BODY_LIMIT_BYTES,
    connectionTimeout: config.REQUEST_TIMEOUT_MS + 5_000,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    // genReqId vets the incoming header itself; fastify would otherwise trust it verbatim.
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false },
  };
}
