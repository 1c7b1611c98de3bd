import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { problemResponses } from '../../schemas/problem.ts';

export const MetaSchema = Type.Object(
  {
    service: Type.Literal('mailwarden'),
    version: Type.String(),
    apiVersion: Type.Literal('v1'),
  },
  { $id: 'Meta', additionalProperties: false },
);

/** Service metadata: what is answering and in which version. The smallest real /v1 route. */
export const metaRoutes: FastifyPluginAsyncTypebox<{ version: string }> = async (app, { version }) => {
  const body = { service: 'mailwarden' as const, version, apiVersion: 'v1' as const };
  app.get(
    '/meta',
    {
      schema: {
        operationId: 'getMeta',
        tags: ['system'],
        summary: 'Service name and version',
        response: { 200: MetaSchema, ...problemResponses(429) },
      },
      config: { auth: 'public' },
    },
    async () => body,
  );
};
