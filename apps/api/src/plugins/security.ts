import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

export interface SecurityOptions {
  corsOrigins: string[];
}

/** The API answers JSON: its content policy forbids everything. The docs pages set their own. */
const helmetOptions: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"] },
  },
  crossOriginResourcePolicy: { policy: 'same-site' },
};

/**
 * Helmet's headers do not depend on the request, so they are computed once, here, by running
 * helmet against a recording response. (The fastify-helmet plugin rebuilt the whole middleware,
 * directive parsing included, on every request: a measurable share of a small request's cost.)
 */
export function securityHeaders(options: HelmetOptions = helmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
  });
  return headers;
}

/**
 * GraphiQL (development only) is a page that loads React and GraphiQL from unpkg; it gets a policy
 * that allows exactly that and talks only to this origin.
 */
const graphiqlPolicy = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' https://unpkg.com",
  "style-src 'self' 'unsafe-inline' https://unpkg.com",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join(';');

/** Security headers on every response, and CORS only for origins the operator listed. */
async function security(app: FastifyInstance, options: SecurityOptions) {
  const headers = securityHeaders();
  const graphiqlHeaders = { ...headers, 'content-security-policy': graphiqlPolicy };
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.url.startsWith('/graphiql') ? graphiqlHeaders : headers);
    done();
  });
  await app.register(cors, {
    origin: options.corsOrigins.includes('*')
      ? true
      : options.corsOrigins.length > 0
        ? options.corsOrigins
        : false,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
    exposedHeaders: [
      'x-request-id',
      'retry-after',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
    ],
    maxAge: 600,
  });
}

export default fp(security, { name: 'security' });
