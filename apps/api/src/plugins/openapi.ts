import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface OpenApiOptions {
  version: string;
  serverUrl: string;
}

/**
 * The OpenAPI document is built from the routes' TypeBox schemas; `npm run openapi:check` fails
 * when the committed openapi/openapi.json differs from what the routes say.
 */
async function openapi(app: FastifyInstance, options: OpenApiOptions) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Mailwarden API',
        version: options.version,
        description:
          'Watches the mail security of your domains. Errors are RFC 9457 problem details with a stable `code`.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: options.serverUrl }],
      tags: [
        { name: 'system', description: 'Health, readiness and service metadata' },
        { name: 'auth', description: 'Sign-up, sign-in, sessions, passwords' },
        { name: 'two-factor', description: 'TOTP authenticators and recovery codes' },
        { name: 'tenant', description: 'The tenant and its security settings' },
        { name: 'members', description: 'Members, roles and invitations (docs/permissions.md)' },
        { name: 'api-keys', description: 'API keys for integrations' },
        { name: 'audit', description: 'The tenant audit log' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description:
              'An access token from POST /v1/auth/login (a JWT), or an API key (`mw_…`) where the route accepts one',
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: { deepLinking: true },
  });
}

export default fp(openapi, { name: 'openapi' });
