import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Principal } from '@mailwarden/auth';
import { AppError, type ErrorCode, isAppError } from '@mailwarden/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { GraphQLError } from 'graphql';
import mercurius from 'mercurius';
import { type GraphqlModule, mergeModules } from '../graphql/modules.ts';

declare module 'mercurius' {
  interface MercuriusContext {
    /** The principal the auth plugin resolved for this HTTP request (null without credentials). */
    principal: Principal | null;
  }
}

export interface GraphqlOptions {
  modules: GraphqlModule[];
  maxDepth: number;
  /** GraphiQL and introspection are development conveniences; production has neither. */
  production: boolean;
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
  if (!original || original.code === 'MER_ERR_GQL_VALIDATION') {
    const syntax = error.message.startsWith('Syntax Error');
    return { code: syntax ? 'bad_request' : 'validation_failed', status: 400, message: error.message };
  }
  // Anything else is a bug in a resolver: log it, tell the caller nothing about it.
  return { code: 'internal', status: 500, message: new AppError('internal').message };
}

async function graphql(app: FastifyInstance, options: GraphqlOptions) {
  const { resolvers, loaders } = mergeModules(options.modules);
  await app.register(mercurius, {
    schema: sdl,
    resolvers,
    loaders,
    path: '/graphql',
    graphiql: !options.production,
    queryDepth: options.maxDepth,
    validationRules: options.production ? [NoSchemaIntrospectionCustomRule] : [],
    // The same principal as REST, resolved once per request by the auth plugin.
    context: (request) => ({ principal: request.principal }),
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
}

export default fp(graphql, { name: 'graphql' });
