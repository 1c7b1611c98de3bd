import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthServices } from '@mailwarden/auth';
import { Type } from 'typebox';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { ApiKeyView, Closed, IdParams, Scope } from '../../schemas/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';

const Name = Type.String({ minLength: 1, maxLength: 100, examples: ['Grafana exporter'] });

/** API keys for integrations: `Authorization: Bearer mw_…` on REST and GraphQL. */
export const apiKeysRoutes: FastifyPluginAsyncTypebox<{ auth: AuthServices }> = async (app, { auth }) => {
  const tags = ['api-keys'];
  const params = IdParams('key');

  app.post(
    '/api-keys',
    {
      schema: {
        operationId: 'createApiKey',
        tags,
        summary: 'Create an API key; the key is in this response only',
        description:
          'Example: `{"name":"Grafana exporter","scopes":["read"],"expiresAt":"2027-01-01T00:00:00Z"}`. Store `key` now: only its hash is kept.',
        body: Type.Object(
          {
            name: Name,
            scopes: Type.Array(Scope, { minItems: 1, maxItems: 3, uniqueItems: true }),
            expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
          },
          Closed,
        ),
        response: {
          201: Type.Object(
            {
              apiKey: ApiKeyView,
              key: Type.String({ description: 'The secret key, shown once', examples: ['mw_…'] }),
            },
            Closed,
          ),
          ...problemResponses(400, 401, 403),
        },
      },
      config: { auth: 'session', permission: 'api_keys.manage' },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await auth.apiKeys.create(principalOf(request), request.body, requestMeta(request))),
  );

  app.get(
    '/api-keys',
    {
      schema: {
        operationId: 'listApiKeys',
        tags,
        summary: 'API keys of this tenant (never their secrets)',
        response: { 200: Type.Array(ApiKeyView), ...problemResponses(401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'api_keys.read' },
    },
    async (request) => auth.apiKeys.list(principalOf(request)),
  );

  app.get(
    '/api-keys/:id',
    {
      schema: {
        operationId: 'getApiKey',
        tags,
        summary: 'One API key',
        params,
        response: { 200: ApiKeyView, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'api_keys.read' },
    },
    async (request) => auth.apiKeys.get(principalOf(request), request.params.id),
  );

  app.patch(
    '/api-keys/:id',
    {
      schema: {
        operationId: 'updateApiKey',
        tags,
        summary: 'Rename an API key',
        params,
        body: Type.Object({ name: Name }, Closed),
        response: { 200: ApiKeyView, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session', permission: 'api_keys.manage' },
    },
    async (request) =>
      auth.apiKeys.rename(principalOf(request), request.params.id, request.body.name, requestMeta(request)),
  );

  app.delete(
    '/api-keys/:id',
    {
      schema: {
        operationId: 'revokeApiKey',
        tags,
        summary: 'Revoke an API key; it stops working at once',
        params,
        response: { 200: ApiKeyView, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session', permission: 'api_keys.manage' },
    },
    async (request) => auth.apiKeys.revoke(principalOf(request), request.params.id, requestMeta(request)),
  );
};
