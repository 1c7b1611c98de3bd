import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Authenticator, assertCan, assertUnrestricted, type Principal } from '@mailwarden/auth';
import { AppError, type ErrorCode, isAppError } from '@mailwarden/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { GraphQLError } from 'graphql';
import mercurius from 'mercurius';
import { type GraphqlLimits, measureOperation } from '../graphql/limits.ts';
import { type GraphqlModule, mergeModules } from '../graphql/modules.ts';
import type { LiveEvents } from '../live-events.ts';

declare module 'mercurius' {
  interface MercuriusContext {
    /** The principal the auth plugin resolved for this HTTP request (null without credentials). */
    principal: Principal | null;
    /** Subscriptions only: the credential of connection_init, checked again for every event. */
    authorization?: string;
  }
}

export interface GraphqlOptions {
  modules: GraphqlModule[];
  maxDepth: number;
  /** Cost and alias caps (graphql/limits.ts), checked on every operation before it runs. */
  limits: GraphqlLimits;
  /** GraphiQL and introspection are development conveniences; production has neither. */
  production: boolean;
  /**
   * Subscriptions over WebSocket (graphql-transport-ws or graphql-ws on GET /graphql). Clients
   * authenticate in connection_init: `{"authorization": "Bearer <access token or API key>"}`.
   */
  subscriptions?: {
    authenticator: Authenticator;
    liveEvents: LiveEvents;
    /** Mercurius' emitter; the in-process mqemitter when left out (see live-events.ts). */
    emitter?: unknown;
  };
}

// mercurius loads graphql's CommonJS build; a rule from the ESM build would be "from another realm".
const { NoSchemaIntrospectionCustomRule } = createRequire(import.meta.url)(
  'graphql',
) as typeof import('graphql');

const sdl = readFileSync(new URL('../graphql/schema.graphql', import.meta.url), 'utf8');

interface Coded {
  code?: string;
  errors?: unknown[];
  statusCode?: number;
}

/** The same stable codes as REST, in `extensions.code` (DESIGN.md §5). */
function classify(error: GraphQLError): { code: ErrorCode; status: number; message: string } {
  const original = error.originalError as (Error & Coded) | undefined;
  if (isAppError(original))
    return { code: original.code, status: original.status, message: original.message };
  if (original?.code === 'MER_ERR_GQL_QUERY_DEPTH' || (error as Coded).code === 'MER_ERR_GQL_QUERY_DEPTH') {
    return { code: 'query_too_complex', status: 400, message: error.message };
  }
  if (original?.code === 'MER_ERR_GQL_CSRF_PREVENTION') {
    return { code: 'bad_request', status: 400, message: original.message };
  }
  if (!original || original.code === 'MER_ERR_GQL_VALIDATION') {
    const syntax = error.message.startsWith('Syntax Error');
    return { code: syntax ? 'bad_request' : 'validation_failed', status: 400, message: error.message };
  }
  // Anything else is a bug in a resolver: log it, tell the caller nothing about it.
  return { code: 'internal', status: 500, message: new AppError('internal').message };
}

/** The bearer credential of a connection_init payload, in any of the shapes clients send it. */
function initAuthorization(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  const headers = (typeof p.headers === 'object' && p.headers !== null ? p.headers : {}) as Record<
    string,
    unknown
  >;
  const value = p.authorization ?? p.Authorization ?? headers.authorization ?? headers.Authorization;
  return typeof value === 'string' && value.length <= 4096 ? value : undefined;
}

function checkLimits(limits: GraphqlLimits, measured: { cost: number; aliases: number }): void {
  if (measured.aliases > limits.maxAliases)
    throw new AppError('query_too_complex', {
      detail: `the document uses ${measured.aliases} aliases; at most ${limits.maxAliases} are allowed`,
    });
  if (measured.cost > limits.maxCost)
    throw new AppError('query_too_complex', {
      detail: `the query may resolve ${measured.cost} fields; at most ${limits.maxCost} are allowed (lower first/limit)`,
    });
}

async function graphql(app: FastifyInstance, options: GraphqlOptions) {
  const { resolvers, loaders } = mergeModules(options.modules);
  // CSRF prevention wants a preflight-forcing header, which a browser cannot add to a WebSocket
  // handshake. The handshake carries no credential (it is sent in connection_init), so a cross-site
  // page that opens one gains nothing; mark real upgrades (Node's `upgrade` flag) as safe.
  if (options.subscriptions) {
    app.addHook('onRequest', async (request) => {
      if ((request.raw as { upgrade?: boolean }).upgrade && request.url.split('?')[0] === '/graphql')
        request.headers['mercurius-require-preflight'] = 'websocket';
    });
  }
  await app.register(mercurius, {
    schema: sdl,
    resolvers,
    loaders,
    path: '/graphql',
    graphiql: !options.production,
    queryDepth: options.maxDepth,
    // A query seen once is compiled with graphql-jit the next time (Mercurius' query cache keeps the
    // compiled form): dashboards send the same query again and again, and graphql-js' generic
    // execution was most of their cost (bench/graphql-dashboard.bench.ts).
    jit: 1,
    validationRules: options.production ? [NoSchemaIntrospectionCustomRule] : [],
    // The same principal as REST, resolved once per request by the auth plugin.
    context: (request) => ({ principal: request.principal }),
    ...(options.subscriptions
      ? {
          subscription: {
            ...(options.subscriptions.emitter ? { emitter: options.subscriptions.emitter as never } : {}),
            keepAlive: 30_000,
            // The same credentials as HTTP, sent once in connection_init; refused: connection_error.
            onConnect: async (data: { payload?: unknown }) => {
              const authorization = initAuthorization(data.payload);
              if (!authorization) return false;
              try {
                const principal = await options.subscriptions!.authenticator.authenticate(
                  authorization,
                  'session-or-api-key',
                );
                assertUnrestricted(principal);
                assertCan(principal, 'domains.read');
                return { principal, authorization };
              } catch {
                return false;
              }
            },
          },
        }
      : {}),
    // Refuse simple cross-site form posts that would skip CORS preflight.
    csrfPrevention: true,
    allowBatchedQueries: false,
    errorFormatter: (execution, ctx) => {
      const log = ctx.reply?.log ?? app.log;
      const flat = execution.errors.flatMap((error) => {
        // Mercurius wraps validation failures as one error holding many; an AppError's `errors`
        // are field problems of one error (password_policy), which must keep its own code.
        const inner = (error.originalError as Coded | undefined)?.errors;
        return Array.isArray(inner) && !isAppError(error.originalError) ? (inner as GraphQLError[]) : [error];
      });
      let status = 200;
      const errors = flat.map((error) => {
        const { code, status: errorStatus, message } = classify(error);
        if (code === 'internal') log.error({ err: error.originalError ?? error }, 'graphql resolver failed');
        status = Math.max(status, errorStatus);
        return {
          message,
          ...(error.locations ? { locations: error.locations } : {}),
          ...(error.path ? { path: error.path } : {}),
          extensions: { code, requestId: String(ctx.reply?.request.id ?? '') },
        };
      });
      // With partial data the transport succeeded (GraphQL over HTTP); without any, say why.
      return {
        statusCode: execution.data ? 200 : status,
        response: { data: execution.data ?? null, errors },
      };
    },
  });

  // Cost and alias limits need the variables, so they run per request, before execution.
  app.graphql.addHook('preExecution', async (schema, document, context, variables) => {
    const operationName = (context.reply?.request.body as { operationName?: string } | undefined)
      ?.operationName;
    checkLimits(options.limits, measureOperation(schema, document, operationName, variables ?? {}));
  });
  app.graphql.addHook('preSubscriptionExecution', async (schema, document) => {
    checkLimits(options.limits, measureOperation(schema, document, undefined, {}));
  });
  // Publishing goes straight to the emitter Mercurius subscribes through.
  const emitter = (app.graphql.pubsub as unknown as { emitter?: Parameters<LiveEvents['bind']>[0] }).emitter;
  if (options.subscriptions && emitter) options.subscriptions.liveEvents.bind(emitter);
}

export default fp(graphql, { name: 'graphql' });
