import {
  type AcceptedCredentials,
  type Authenticator,
  assertCan,
  assertUnrestricted,
  type Permission,
  type Principal,
  type RequestMeta,
} from '@mailwarden/auth';
import { AppError } from '@mailwarden/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; null on public routes (and on GraphQL without credentials). */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Checked after the principal is resolved, before the body is read. */
    permission?: Permission;
    /** Accepts a session that must first enrol 2FA or change an expired password. */
    allowRestricted?: boolean;
  }
}

export interface AuthPluginOptions {
  authenticator: Authenticator;
}

/**
 * Resolves the principal once per request, from `Authorization: Bearer` (an access token or an
 * API key, as the route's `config.auth` allows), then applies the route's restriction and
 * permission rules. It runs in `preParsing`: after the rate limit (onRequest), so failed
 * credentials are counted too, and before the body is read, so an anonymous caller cannot make us
 * parse a large body. GraphQL authenticates when credentials are sent; its resolvers decide.
 */
async function auth(app: FastifyInstance, options: AuthPluginOptions) {
  app.decorateRequest('principal', null);
  // The OpenAPI document says which routes take a bearer credential.
  app.addHook('onRoute', (route) => {
    const mode = (route.config as { auth?: string } | undefined)?.auth;
    if (mode && mode !== 'public' && route.schema) {
      (route.schema as { security?: unknown }).security = [{ bearerAuth: [] }];
    }
  });
  app.addHook('preParsing', async (request, reply, payload) => {
    const config = request.routeOptions.config;
    const isGraphql = request.routeOptions.url === '/graphql';
    const mode = config?.auth;
    if (!isGraphql && (mode === undefined || mode === 'public')) return payload;
    if (isGraphql && !request.headers.authorization) return payload;
    try {
      const principal = await options.authenticator.authenticate(
        request.headers.authorization,
        isGraphql ? 'session-or-api-key' : (mode as AcceptedCredentials),
      );
      request.principal = principal;
      if (!isGraphql) {
        if (!config.allowRestricted) assertUnrestricted(principal);
        if (config.permission) assertCan(principal, config.permission);
      }
    } catch (err) {
      // RFC 6750 §3: a 401 names the scheme the caller should use.
      if (err instanceof AppError && err.status === 401)
        reply.header('www-authenticate', 'Bearer realm="mailwarden"');
      throw err;
    }
    return payload;
  });
}

export default fp(auth, { name: 'auth', dependencies: ['problem-details'] });

/** The principal of a route that declared an auth mode other than public. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthenticated');
  return request.principal;
}

export function requestMeta(request: FastifyRequest): RequestMeta {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent : null };
}
