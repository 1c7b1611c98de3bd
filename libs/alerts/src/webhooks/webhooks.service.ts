/**
 * Webhook endpoints and deliveries in Postgres (DESIGN.md §2.6): endpoints with sealed targets and
 * secrets (endpoints.service.ts), the dispatch of an outbox event into deliveries and each attempt
 * (deliveries.service.ts). One service for callers.
 */
import type { Clock, SecretBox } from '@mailwarden/core';
import type { Database } from '@mailwarden/db';
import { createDeliveriesService } from './deliveries.service.ts';
import { createEndpointStore } from './endpoint-store.ts';
import { createEndpointsService } from './endpoints.service.ts';
import type { WebhookRuntime } from './types.ts';

export * from './types.ts';

export function createWebhooksService(deps: {
  db: Database;
  clock: Clock;
  box: SecretBox;
  runtime: WebhookRuntime;
}) {
  const store = createEndpointStore(deps);
  return { ...createEndpointsService(deps, store), ...createDeliveriesService(deps, store) };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
