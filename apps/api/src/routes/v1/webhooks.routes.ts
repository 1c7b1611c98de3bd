import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { WebhooksService } from '@mailwarden/alerts';
import { type AuthServices, actorOf, type Principal, type RequestMeta } from '@mailwarden/auth';
import { decodeId, encodeId } from '@mailwarden/core';
import { type EventType as EventTypeName, eventTypes } from '@mailwarden/db';
import { Type } from 'typebox';
import { principalOf, requestMeta } from '../../plugins/auth.ts';
import { Closed, IdParams } from '../../schemas/auth.ts';
import { problemResponses } from '../../schemas/problem.ts';

const EventType = Type.Unsafe<EventTypeName>({
  type: 'string',
  enum: [...eventTypes],
  description: 'An event type (docs/webhooks.md)',
});
const Format = Type.Union([Type.Literal('standard'), Type.Literal('slack'), Type.Literal('email')], {
  description:
    '`standard`: signed JSON (Standard Webhooks); `slack`: Block Kit to an incoming webhook; `email`',
});
const Endpoint = Type.Object(
  {
    id: Type.String({ examples: ['whk_01jf8m3k2x9q7v5t4r6w8y0zab'] }),
    format: Format,
    target: Type.String({
      description: 'Scheme and host only (a Slack URL path is a credential), or the address',
    }),
    events: Type.Array(EventType, { description: 'Delivered event types; empty: all' }),
    enabled: Type.Boolean(),
    dailyDigest: Type.Boolean(),
    description: Type.String(),
    disabledReason: Type.Union([Type.String(), Type.Null()]),
    failingSince: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  Closed,
);
const Attempt = Type.Object(
  {
    attemptedAt: Type.String({ format: 'date-time' }),
    statusCode: Type.Union([Type.Integer(), Type.Null()]),
    latencyMs: Type.Integer(),
    error: Type.Union([Type.String(), Type.Null()]),
    responseExcerpt: Type.Union([Type.String(), Type.Null()]),
  },
  Closed,
);
const Delivery = Type.Object(
  {
    id: Type.String({ examples: ['dlv_01jf8m3k2x9q7v5t4r6w8y0zab'] }),
    eventId: Type.String(),
    state: Type.Union([
      Type.Literal('pending'),
      Type.Literal('succeeded'),
      Type.Literal('failed'),
      Type.Literal('abandoned'),
    ]),
    attemptCount: Type.Integer(),
    nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
    lastError: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    completedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    attempts: Type.Array(Attempt),
  },
  Closed,
);
const Target = Type.String({
  minLength: 3,
  maxLength: 2048,
  description: 'https URL (standard, slack) or an e-mail address (email)',
  examples: ['https://hooks.example.com/mailwarden'],
});

/** Hands deliveries to the worker (webhooks queue); best effort, the outbox sweeper is the backstop. */
export type EnqueueDelivery = (tenantId: string, deliveryId: string) => Promise<void>;

/**
 * Alert endpoints: signed JSON webhooks, Slack incoming webhooks, e-mail. Targets are SSRF-vetted when
 * saved and again on every delivery (libs/alerts); secrets are shown once and sealed at rest.
 */
export const webhooksRoutes: FastifyPluginAsyncTypebox<{
  auth: AuthServices;
  webhooks: WebhooksService;
  enqueueDelivery: EnqueueDelivery;
  syncDigest: (tenantId: string, endpointId: string, digest: boolean) => Promise<void>;
}> = async (app, { auth, webhooks, enqueueDelivery, syncDigest }) => {
  const tags = ['webhooks'];
  const params = IdParams('whk');
  /** Keeps the daily digest job of an e-mail endpoint in step with the endpoint. */
  const digestOf = async (
    tenantId: string,
    endpoint: { format: string; dailyDigest: boolean; enabled: boolean } | null,
    typedId: string,
  ) => {
    const id = decodeId('whk', typedId);
    if (!id) return;
    const digest =
      endpoint !== null && endpoint.format === 'email' && endpoint.dailyDigest && endpoint.enabled;
    await syncDigest(tenantId, id, digest);
  };
  const audit = (
    principal: Principal,
    meta: RequestMeta,
    action: string,
    id: string,
    details: Record<string, unknown> = {},
  ) =>
    auth.audit.recordInTenants([principal.tenantId], {
      action,
      actor: actorOf(principal),
      target: { type: 'webhook_endpoint', id },
      ...meta,
      details,
    });

  app.post(
    '/webhooks',
    {
      schema: {
        operationId: 'createWebhook',
        tags,
        summary: 'Add an alert endpoint; the signing secret is in this response only',
        description:
          'Example: `{"format":"standard","target":"https://hooks.example.com/mailwarden","events":["finding.opened","finding.resolved"]}`. Verify deliveries with any Standard Webhooks library and the returned `whsec_…` secret.',
        body: Type.Object(
          {
            format: Format,
            target: Target,
            events: Type.Optional(Type.Array(EventType, { maxItems: eventTypes.length, uniqueItems: true })),
            enabled: Type.Optional(Type.Boolean()),
            dailyDigest: Type.Optional(Type.Boolean()),
            description: Type.Optional(Type.String({ maxLength: 500 })),
          },
          Closed,
        ),
        response: {
          201: Type.Object(
            {
              endpoint: Endpoint,
              secret: Type.Union([
                Type.String({ examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] }),
                Type.Null(),
              ]),
            },
            Closed,
          ),
          ...problemResponses(400, 401, 403),
        },
      },
      config: { auth: 'session-or-api-key', permission: 'webhooks.manage' },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const created = await webhooks.create(principal.tenantId, request.body);
      if (created.endpoint.format === 'email')
        await digestOf(principal.tenantId, created.endpoint, created.endpoint.id);
      await audit(principal, requestMeta(request), 'webhook.created', created.endpoint.id, {
        format: created.endpoint.format,
        target: created.endpoint.target,
      });
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/webhooks',
    {
      schema: {
        operationId: 'listWebhooks',
        tags,
        summary: 'Alert endpoints of this tenant (never their secrets)',
        response: { 200: Type.Array(Endpoint), ...problemResponses(401, 403) },
      },
      config: { auth: 'session-or-api-key', permission: 'webhooks.read' },
    },
    async (request) => webhooks.list(principalOf(request).tenantId),
  );

  app.get(
    '/webhooks/:id',
    {
      schema: {
        operationId: 'getWebhook',
        tags,
        summary: 'One alert endpoint',
        params,
        response: { 200: Endpoint, ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'webhooks.read' },
    },
    async (request) => webhooks.get(principalOf(request).tenantId, request.params.id),
  );

  app.patch(
    '/webhooks/:id',
    {
      schema: {
        operationId: 'updateWebhook',
        tags,
        summary: 'Change the target, events or description; enable or disable',
        description: 'Re-enabling an endpoint the service disabled clears its failure streak.',
        params,
        body: Type.Object(
          {
            target: Type.Optional(Target),
            events: Type.Optional(Type.Array(EventType, { maxItems: eventTypes.length, uniqueItems: true })),
            enabled: Type.Optional(Type.Boolean()),
            dailyDigest: Type.Optional(Type.Boolean()),
            description: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { ...Closed, minProperties: 1 },
        ),
        response: { 200: Endpoint, ...problemResponses(400, 401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'webhooks.manage' },
    },
    async (request) => {
      const principal = principalOf(request);
      const updated = await webhooks.update(principal.tenantId, request.params.id, request.body);
      if (updated.format === 'email') await digestOf(principal.tenantId, updated, updated.id);
      await audit(principal, requestMeta(request), 'webhook.updated', updated.id, {
        fields: Object.keys(request.body),
      });
      return updated;
    },
  );

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        operationId: 'deleteWebhook',
        tags,
        summary: 'Remove an alert endpoint and its delivery log',
        params,
        response: { 204: Type.Null(), ...problemResponses(401, 403, 404) },
      },
      config: { auth: 'session-or-api-key', permission: 'webhooks.manage' },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const removed = await webhooks.get(principal.tenantId, request.params.id);
      await webhooks.remove(principal.tenantId, request.params.id);
      if (removed.format === 'email') await digestOf(principal.tenantId, null, removed.id);
      await audit(principal, requestMeta(request), 'webhook.deleted', request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      schema: {
        operationId: 'rotateWebhookSecret',
        tags,
        summary: 'New signing secret; the old one keeps signing alongside for a day',
        params,
        response: {
          200: Type.Object(
            { secret: Type.String(), previousValidUntil: Type.String({ format: 'date-time' }) },
            Closed,
          ),
          ...problemResponses(400, 401, 403, 404),
        },
      },
      config: { auth: 'session-or-api-key', permission: 'webhooks.manage' },
    },
    async (request) => {
      const principal = principalOf(request);
      const rotated = await webhooks.rotateSecret(principal.tenantId, request.params.id);
      await audit(principal, requestMeta(request), 'webhook.secret_rotated', request.params.id);
      return rotated;
    },
  );

  app.post(
    '/webhooks/:id/test',
    {
      schema: {
        operationId: 'testWebhook',
        tags,
        summary: 'Send a `webhook.test` event to this endpoint now',
        params,
        response: {
          202: Type.Object({ eventId: Type.String(), deliveryId: Type.String() }, Closed),
          ...problemResponses(401, 403, 404, 429),
        },
      },
      config: {
        auth: 'session-or-api-key',
        permission: 'webhooks.manage',
        rateLimit: { max: 10, timeWindow: 60_000 },
      },
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      const sent = await webhooks.sendTest(tenantId, request.params.id);
      await enqueueDelivery(tenantId, sent.deliveryId);
      return reply
        .code(202)
        .send({ eventId: encodeId('evt', sent.eventId), deliveryId: encodeId('dlv', sent.deliveryId) });
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        operationId: 'listWebhookDeliveries',
        tags,
        summary: 'Deliveries to this endpoint, newest first, with every attempt',
        params,
        querystring: Type.Object(
          {
            cursor: Type.Optional(Type.String({ maxLength: 64 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          },
          Closed,
        ),
        response: {
          200: Type.Object(
            { items: Type.Array(Delivery), nextCursor: Type.Union([Type.String(), Type.Null()]) },
            Closed,
          ),
          ...problemResponses(400, 401, 403, 404),
        },
      },
      config: { auth: 'session-or-api-key', permission: 'webhooks.read' },
    },
    async (request) =>
      webhooks.listDeliveries(principalOf(request).tenantId, request.params.id, {
        ...(request.query.cursor ? { cursor: request.query.cursor } : {}),
        ...(request.query.limit ? { limit: request.query.limit } : {}),
      }),
  );

  app.post(
    '/deliveries/:id/redeliver',
    {
      schema: {
        operationId: 'redeliverWebhook',
        tags,
        summary: 'Deliver an event again, from the first attempt',
        params: IdParams('dlv'),
        response: {
          202: Type.Object({ deliveryId: Type.String() }, Closed),
          ...problemResponses(401, 403, 404, 429),
        },
      },
      config: {
        auth: 'session-or-api-key',
        permission: 'webhooks.manage',
        rateLimit: { max: 30, timeWindow: 60_000 },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const deliveryId = await webhooks.redeliver(principal.tenantId, request.params.id);
      await enqueueDelivery(principal.tenantId, deliveryId);
      await audit(principal, requestMeta(request), 'webhook.redelivered', request.params.id);
      return reply.code(202).send({ deliveryId: request.params.id });
    },
  );
};
