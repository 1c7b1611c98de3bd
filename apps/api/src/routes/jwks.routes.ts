import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthServices } from '@mailwarden/auth';
import { Type } from 'typebox';

/** JWKS max-age; keys are published JWT_KEY_PUBLISH_LEAD_SECONDS (>= 600) before they sign. */
export const JWKS_MAX_AGE_SECONDS = 300;

/**
 * Our public signing keys (RFC 7517), so other services can verify access tokens: the active key,
 * the next one (published ahead of use) and any retiring one whose tokens may still be live.
 */
export const jwksRoutes: FastifyPluginAsyncTypebox<{ auth: AuthServices }> = async (app, { auth }) => {
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        operationId: 'getJwks',
        tags: ['auth'],
        summary: 'Public keys that verify our access tokens',
        response: {
          200: Type.Object({
            keys: Type.Array(
              Type.Object(
                {
                  kty: Type.String(),
                  crv: Type.String(),
                  x: Type.String(),
                  kid: Type.String(),
                  alg: Type.String(),
                  use: Type.String(),
                },
                { additionalProperties: false },
              ),
            ),
          }),
        },
      },
      config: { auth: 'public' },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      return auth.keyRing.jwks();
    },
  );
};
