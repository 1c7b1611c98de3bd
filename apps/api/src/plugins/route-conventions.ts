import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';

/**
 * How a route authenticates its caller. `public` needs nothing; the others are filled in by the
 * accounts work (JWT sessions and API keys). Every route says which one it wants.
 */
export type AuthMode = 'public' | 'session' | 'api-key' | 'session-or-api-key';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
  }
}

/**
 * Refuses, at start-up, a public API route that is missing what the conventions require
 * (DESIGN.md §5): an operationId, tags, an auth mode, and a response schema for its success status.
 * A forgotten schema then fails the first test that builds the app, not a customer.
 */
export function routeConventionProblems(route: RouteOptions): string[] {
  const url = route.url;
  if (!url.startsWith('/v1/')) return [];
  const schema = route.schema as
    | { operationId?: string; tags?: string[]; response?: Record<string, unknown>; hide?: boolean }
    | undefined;
  const problems: string[] = [];
  if (!schema?.operationId) problems.push('schema.operationId');
  else if (!/^[a-z][a-zA-Z0-9]+$/.test(schema.operationId)) problems.push('a camelCase operationId');
  if (!schema?.tags?.length) problems.push('schema.tags');
  if (!route.config || !(route.config as { auth?: AuthMode }).auth) problems.push('config.auth');
  const statuses = Object.keys(schema?.response ?? {});
  if (!statuses.some((s) => s.startsWith('2'))) problems.push('a 2xx response schema');
  return problems;
}

async function routeConventions(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    const problems = routeConventionProblems(route);
    if (problems.length > 0) {
      const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
      throw new Error(`route ${methods} ${route.url} lacks ${problems.join(', ')}`);
    }
  });
}

export default fp(routeConventions, { name: 'route-conventions' });
