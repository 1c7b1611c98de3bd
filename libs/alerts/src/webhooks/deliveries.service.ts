/**
 * Deliveries: an outbox event becomes one delivery per matching endpoint; each attempt is signed,
 * SSRF-guarded and logged, retried on the documented schedule, and a failing or gone endpoint is
 * disabled with an `endpoint.disabled` event and an audit entry. Also the daily e-mail digest.
 */
import { type Clock, decodeId, encodeId, notFound, type SecretBox, uuidv7 } from '@mailwarden/core';
import { type Database, schema, type WebhookEndpointRow, withTenant } from '@mailwarden/db';
import { and, asc, desc, eq, gte, inArray, isNull, lt } from 'drizzle-orm';
import {
  type DeliverWebhookOptions,
  deliverWebhook,
  type WebhookAttempt,
} from '../delivery/deliver-webhook.ts';
import { endpointHealthAfter, nextAttemptAt } from '../delivery/retry-schedule.ts';
import { formatAlertEmail, formatDigestEmail } from '../email/alert-email.ts';
import { type AlertEvent, eventFromStored, serializeEvent } from '../events/alert-events.ts';
import { activeSecrets, webhookSignatureHeaders } from '../signing/standard-webhooks.ts';
import { formatSlackMessage } from '../slack/slack-format.ts';

import { type EndpointStore, invalid, type SealedSecrets } from './endpoint-store.ts';
import type { WebhookRuntime } from './types.ts';

export function createDeliveriesService(
  deps: { db: Database; clock: Clock; box: SecretBox; runtime: WebhookRuntime },
  store: EndpointStore,
) {
  const { db, clock, box, runtime } = deps;
  const { webhookEndpoints, webhookDeliveries, webhookAttempts, monitoringEvents } = schema;
  const { targetContext, endpointIdOf, loadEndpoint, openSecrets, writeEvent } = store;

  const service = {
    async listDeliveries(tenantId: string, typedId: string, opts: { cursor?: string; limit?: number } = {}) {
      const id = endpointIdOf(typedId);
      const limit = Math.min(Math.max(opts.limit ?? 50, 1), 200);
      const before = opts.cursor ? decodeId('dlv', opts.cursor) : undefined;
      if (opts.cursor && !before) throw invalid('query.cursor', 'is not a cursor of this list');
      return withTenant(db, tenantId, async (tx) => {
        await loadEndpoint(tx, id, typedId);
        const rows = await tx
          .select()
          .from(webhookDeliveries)
          .where(
            and(eq(webhookDeliveries.endpointId, id), ...(before ? [lt(webhookDeliveries.id, before)] : [])),
          )
          .orderBy(desc(webhookDeliveries.id))
          .limit(limit + 1);
        const page = rows.slice(0, limit);
        const attempts = page.length
          ? await tx
              .select()
              .from(webhookAttempts)
              .where(
                inArray(
                  webhookAttempts.deliveryId,
                  page.map((d) => d.id),
                ),
              )
              .orderBy(asc(webhookAttempts.id))
          : [];
        const byDelivery = new Map<string, typeof attempts>();
        for (const a of attempts) byDelivery.set(a.deliveryId, [...(byDelivery.get(a.deliveryId) ?? []), a]);
        return {
          items: page.map((d) => ({
            id: encodeId('dlv', d.id),
            eventId: encodeId('evt', d.eventId),
            state: d.state,
            attemptCount: d.attemptCount,
            nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
            lastStatusCode: d.lastStatusCode,
            lastError: d.lastError,
            createdAt: d.createdAt.toISOString(),
            completedAt: d.completedAt?.toISOString() ?? null,
            attempts: (byDelivery.get(d.id) ?? []).map((a) => ({
              attemptedAt: a.attemptedAt.toISOString(),
              statusCode: a.statusCode,
              latencyMs: a.latencyMs,
              error: a.error,
              responseExcerpt: a.responseExcerpt,
            })),
          })),
          nextCursor: rows.length > limit ? encodeId('dlv', page[page.length - 1]!.id) : null,
        };
      });
    },

    /** Sends a delivery again from the start (manual redelivery); returns the delivery id to run. */
    async redeliver(tenantId: string, typedDeliveryId: string): Promise<string> {
      const id = decodeId('dlv', typedDeliveryId);
      if (!id) throw notFound('delivery', typedDeliveryId);
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .update(webhookDeliveries)
          .set({ state: 'pending', attemptCount: 0, nextAttemptAt: clock.now(), completedAt: null })
          .where(eq(webhookDeliveries.id, id))
          .returning({ id: webhookDeliveries.id }),
      );
      if (rows.length === 0) throw notFound('delivery', typedDeliveryId);
      return id;
    },

    /**
     * The daily digest of an e-mail endpoint: the alerting events of the last 24 hours it subscribes
     * to, in one message. Nothing is sent for a quiet day. Returns how many events it held.
     */
    async sendDigest(tenantId: string, endpointId: string): Promise<number> {
      const now = clock.now();
      const since = new Date(now.getTime() - 24 * 3_600_000);
      const loaded = await withTenant(db, tenantId, async (tx) => {
        const [endpoint] = await tx
          .select()
          .from(webhookEndpoints)
          .where(eq(webhookEndpoints.id, endpointId));
        if (endpoint?.format !== 'email' || !endpoint.dailyDigest || !endpoint.enabled) return null;
        const rows = await tx
          .select()
          .from(monitoringEvents)
          .where(and(gte(monitoringEvents.occurredAt, since), isNull(monitoringEvents.suppressed)))
          .orderBy(asc(monitoringEvents.id))
          .limit(5_000);
        return {
          endpoint,
          rows: rows.filter((r) => endpoint.events.length === 0 || endpoint.events.includes(r.type)),
        };
      });
      if (!loaded || !runtime.mailer) return 0;
      const events = loaded.rows.flatMap((row) => {
        const stored = eventFromStored({ type: row.type, occurredAt: row.occurredAt, payload: row.payload });
        return stored.ok ? [stored.event] : [];
      });
      const target = box
        .open(loaded.endpoint.targetCiphertext, targetContext(loaded.endpoint.id))
        .toString('utf8');
      const message = formatDigestEmail(events, {
        to: target,
        day: now,
        ...(runtime.dashboardBaseUrl ? { dashboardBaseUrl: runtime.dashboardBaseUrl } : {}),
      });
      if (message) await runtime.mailer.send(message);
      return events.length;
    },

    /**
     * Outbox → deliveries: one per enabled endpoint subscribed to the event's type, created once
     * (unique per endpoint and event), then the event is marked dispatched. Returns the deliveries
     * to attempt now.
     */
    async dispatchEvent(tenantId: string, eventId: string): Promise<string[]> {
      return withTenant(db, tenantId, async (tx) => {
        const [event] = await tx
          .select()
          .from(monitoringEvents)
          .where(eq(monitoringEvents.id, eventId))
          .for('update');
        if (!event || event.dispatchedAt || event.suppressed) return [];
        const endpoints = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.enabled, true));
        const wanted = endpoints.filter(
          (e) =>
            (e.events.length === 0 || e.events.includes(event.type)) &&
            !(e.format === 'email' && e.dailyDigest),
        );
        const now = clock.now();
        const rows = wanted.map((e) => ({
          id: uuidv7(now.getTime()),
          tenantId,
          endpointId: e.id,
          eventId,
          nextAttemptAt: now,
        }));
        const created = rows.length
          ? await tx
              .insert(webhookDeliveries)
              .values(rows)
              .onConflictDoNothing()
              .returning({ id: webhookDeliveries.id })
          : [];
        await tx.update(monitoringEvents).set({ dispatchedAt: now }).where(eq(monitoringEvents.id, eventId));
        return created.map((r) => r.id);
      });
    },

    /**
     * One attempt of one delivery. Idempotent enough for at-least-once jobs: a delivery that is no
     * longer pending, or not yet due, is left alone. Returns when to try again (null: finished).
     */
    async attemptDelivery(
      tenantId: string,
      deliveryId: string,
    ): Promise<{ state: string; retryAt: Date | null; disabledEventId: string | null }> {
      const loaded = await withTenant(db, tenantId, async (tx) => {
        const [delivery] = await tx
          .select()
          .from(webhookDeliveries)
          .where(eq(webhookDeliveries.id, deliveryId));
        if (delivery?.state !== 'pending') return null;
        if (delivery.nextAttemptAt && delivery.nextAttemptAt.getTime() > clock.now().getTime() + 1_000)
          return { notDue: delivery.nextAttemptAt } as const;
        const [endpoint] = await tx
          .select()
          .from(webhookEndpoints)
          .where(eq(webhookEndpoints.id, delivery.endpointId));
        const [event] = await tx
          .select()
          .from(monitoringEvents)
          .where(eq(monitoringEvents.id, delivery.eventId));
        return { delivery, endpoint, event } as const;
      });
      if (!loaded) return { state: 'done', retryAt: null, disabledEventId: null };
      if ('notDue' in loaded)
        return { state: 'pending', retryAt: loaded.notDue ?? null, disabledEventId: null };
      const { delivery, endpoint, event } = loaded;
      if (!endpoint || !event || !endpoint.enabled) {
        await withTenant(db, tenantId, (tx) =>
          tx
            .update(webhookDeliveries)
            .set({
              state: 'abandoned',
              nextAttemptAt: null,
              completedAt: clock.now(),
              lastError: 'endpoint_disabled',
            })
            .where(eq(webhookDeliveries.id, deliveryId)),
        );
        return { state: 'abandoned', retryAt: null, disabledEventId: null };
      }
      const stored = eventFromStored({
        type: event.type,
        occurredAt: event.occurredAt,
        payload: event.payload,
      });
      let attempt: WebhookAttempt;
      if (!stored.ok) {
        attempt = failedAttempt(clock.now(), 'invalid_request', stored.reason);
        attempt.outcome = 'disable';
      } else {
        attempt = await send(endpoint, encodeId('evt', event.id), stored.event);
      }
      return withTenant(db, tenantId, async (tx) => {
        const attemptsMade = delivery.attemptCount + 1;
        await tx.insert(webhookAttempts).values({
          id: uuidv7(attempt.attemptedAt.getTime()),
          tenantId,
          deliveryId,
          attemptedAt: attempt.attemptedAt,
          statusCode: attempt.statusCode,
          latencyMs: Math.round(attempt.latencyMs),
          error: attempt.error,
          responseExcerpt: attempt.responseExcerpt,
        });
        const health = endpointHealthAfter(endpoint.failingSince, attempt);
        let retryAt: Date | null = null;
        let state: 'pending' | 'succeeded' | 'failed' = 'succeeded';
        if (attempt.outcome !== 'success') {
          retryAt = attempt.outcome === 'retry' ? nextAttemptAt(attemptsMade, attempt.attemptedAt) : null;
          state = retryAt ? 'pending' : 'failed';
        }
        if (health.disable) {
          retryAt = null;
          state = attempt.outcome === 'success' ? 'succeeded' : 'failed';
        }
        await tx
          .update(webhookDeliveries)
          .set({
            state,
            attemptCount: attemptsMade,
            nextAttemptAt: retryAt,
            lastStatusCode: attempt.statusCode,
            lastError: attempt.error,
            ...(state === 'pending' ? {} : { completedAt: attempt.attemptedAt }),
          })
          .where(eq(webhookDeliveries.id, deliveryId));
        let disabledEventId: string | null = null;
        if (health.disable) {
          await tx
            .update(webhookEndpoints)
            .set({
              enabled: false,
              disabledReason: health.reason,
              failingSince: health.failingSince,
              updatedAt: clock.now(),
            })
            .where(eq(webhookEndpoints.id, endpoint.id));
          disabledEventId = await writeEvent(
            tx,
            tenantId,
            'endpoint.disabled',
            {
              endpoint: { id: endpoint.id, displayTarget: endpoint.displayTarget, format: endpoint.format },
              reason: health.reason,
              failingSince: health.failingSince?.toISOString() ?? null,
              lastStatusCode: attempt.statusCode,
              lastError: attempt.error,
            },
            'high',
          );
          await tx.insert(schema.auditEvents).values({
            id: uuidv7(clock.now().getTime()),
            tenantId,
            action: 'webhook.disabled',
            actorType: 'system',
            targetType: 'webhook_endpoint',
            targetId: encodeId('whk', endpoint.id),
            details: { reason: health.reason, lastStatusCode: attempt.statusCode, lastError: attempt.error },
          });
        } else if ((endpoint.failingSince?.getTime() ?? null) !== (health.failingSince?.getTime() ?? null)) {
          await tx
            .update(webhookEndpoints)
            .set({ failingSince: health.failingSince })
            .where(eq(webhookEndpoints.id, endpoint.id));
        }
        return { state, retryAt, disabledEventId };
      });
    },
  };

  async function send(
    endpoint: WebhookEndpointRow,
    messageId: string,
    event: AlertEvent,
  ): Promise<WebhookAttempt> {
    const now = clock.now();
    let target: string;
    let secrets: SealedSecrets | null;
    try {
      target = box.open(endpoint.targetCiphertext, targetContext(endpoint.id)).toString('utf8');
      secrets = openSecrets(endpoint);
    } catch {
      // A key rotated away or a tampered row: no retry can fix it.
      const failed = failedAttempt(
        now,
        'invalid_request',
        'the endpoint cannot be decrypted with the configured keys',
      );
      failed.outcome = 'disable';
      return failed;
    }
    if (endpoint.format === 'email') {
      if (!runtime.mailer) return failedAttempt(now, 'invalid_request', 'no mail relay configured');
      const started = performance.now();
      try {
        const message = formatAlertEmail(event, {
          to: target,
          ...(runtime.dashboardBaseUrl ? { dashboardBaseUrl: runtime.dashboardBaseUrl } : {}),
        });
        await runtime.mailer.send(message);
        return {
          attemptedAt: now,
          outcome: 'success',
          statusCode: null,
          latencyMs: performance.now() - started,
          error: null,
          detail: null,
          responseExcerpt: null,
          address: null,
        };
      } catch (err) {
        return {
          ...failedAttempt(now, 'http_error', (err as Error).message),
          latencyMs: performance.now() - started,
        };
      }
    }
    const body =
      endpoint.format === 'slack'
        ? JSON.stringify(
            formatSlackMessage(
              event,
              runtime.dashboardBaseUrl ? { dashboardBaseUrl: runtime.dashboardBaseUrl } : {},
            ),
          )
        : serializeEvent(event);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (secrets) {
      const signing = activeSecrets({
        current: secrets.current,
        previous: secrets.previous,
        previousValidUntil: secrets.previousValidUntil ? new Date(secrets.previousValidUntil) : null,
        now,
      });
      Object.assign(
        headers,
        webhookSignatureHeaders({ id: messageId, timestamp: now, body, secrets: signing }),
      );
    }
    const options: DeliverWebhookOptions = {
      url: target,
      body,
      headers,
      resolver: runtime.resolver,
      allow: runtime.allow,
      ...(runtime.ca && runtime.ca.length > 0 ? { ca: runtime.ca } : {}),
      ...(runtime.allowHttp ? { allowHttp: true } : {}),
      ...(runtime.timeoutMs !== undefined ? { timeoutMs: runtime.timeoutMs } : {}),
      now: () => clock.now(),
    };
    return (runtime.send ?? deliverWebhook)(options);
  }

  return service;
}

function failedAttempt(now: Date, error: WebhookAttempt['error'], detail: string): WebhookAttempt {
  return {
    attemptedAt: now,
    outcome: 'retry',
    statusCode: null,
    latencyMs: 0,
    error,
    detail,
    responseExcerpt: null,
    address: null,
  };
}
