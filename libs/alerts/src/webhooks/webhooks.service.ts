/**
 * Webhook endpoints and deliveries in Postgres (DESIGN.md §2.6): endpoints with sealed targets and
 * secrets, the dispatch of an outbox event into one delivery per matching endpoint, and delivery
 * attempts — signed, SSRF-guarded, retried on the documented schedule, every attempt logged, the
 * endpoint disabled after days of failure or on 410 (with an `endpoint.disabled` event).
 */
import {
  AppError,
  type Clock,
  decodeId,
  encodeId,
  notFound,
  type Resolver,
  type SecretBox,
  uuidv7,
} from '@mailwarden/core';
import {
  type Database,
  type EndpointFormat,
  type EventType,
  eventTypes,
  schema,
  type Tx,
  type WebhookEndpointRow,
  withTenant,
} from '@mailwarden/db';
import type { AllowList } from '@mailwarden/net';
import { and, asc, desc, eq, gte, inArray, isNull, lt } from 'drizzle-orm';
import {
  type DeliverWebhookOptions,
  deliverWebhook,
  type WebhookAttempt,
} from '../delivery/deliver-webhook.ts';
import { endpointHealthAfter, nextAttemptAt } from '../delivery/retry-schedule.ts';
import { validateWebhookUrl, webhookUrlError } from '../delivery/webhook-url.ts';
import { type AlertMailer, formatAlertEmail, formatDigestEmail } from '../email/alert-email.ts';
import { type AlertEvent, eventFromStored, serializeEvent } from '../events/alert-events.ts';
import {
  activeSecrets,
  generateWebhookSecret,
  webhookSignatureHeaders,
} from '../signing/standard-webhooks.ts';
import { formatSlackMessage } from '../slack/slack-format.ts';

/** Endpoints per tenant. */
export const maxEndpointsPerTenant = 25;
/** After rotation the previous secret still signs for this long, so receivers can switch over. */
export const secretRotationGraceMs = 24 * 3_600_000;
const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,63}$/i;

interface SealedSecrets {
  current: string;
  previous: string | null;
  previousValidUntil: string | null;
}

export interface EndpointView {
  id: string;
  format: EndpointFormat;
  target: string;
  events: EventType[];
  enabled: boolean;
  dailyDigest: boolean;
  description: string;
  disabledReason: string | null;
  failingSince: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface EndpointInput {
  format: EndpointFormat;
  /** https URL (standard, slack) or an e-mail address (email). */
  target: string;
  events?: EventType[];
  enabled?: boolean;
  dailyDigest?: boolean;
  description?: string;
}

export interface WebhookRuntime {
  resolver: Resolver;
  allow: AllowList;
  ca?: readonly string[];
  /** Operator opt-in for http: webhooks (labs). */
  allowHttp?: boolean;
  timeoutMs?: number;
  dashboardBaseUrl?: string;
  mailer?: AlertMailer;
  /** E-mail endpoints may be created (a relay is configured) even where no mail is sent (the API). */
  emailEnabled?: boolean;
  /** Test hook: replaces the HTTP sender. */
  send?: (options: DeliverWebhookOptions) => Promise<WebhookAttempt>;
}

function view(row: WebhookEndpointRow): EndpointView {
  return {
    id: encodeId('whk', row.id),
    format: row.format,
    target: row.displayTarget,
    events: row.events as EventType[],
    enabled: row.enabled,
    dailyDigest: row.dailyDigest,
    description: row.description,
    disabledReason: row.disabledReason,
    failingSince: row.failingSince?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function invalid(location: string, message: string): AppError {
  return new AppError('validation_failed', {
    detail: `${location} ${message}`,
    errors: [{ location, message }],
  });
}

function checkEvents(events: readonly string[] | undefined): EventType[] {
  const list = [...new Set(events ?? [])];
  for (const e of list)
    if (!(eventTypes as readonly string[]).includes(e))
      throw invalid('body.events', `"${e}" is not an event type`);
  return list as EventType[];
}

export function createWebhooksService(deps: {
  db: Database;
  clock: Clock;
  box: SecretBox;
  runtime: WebhookRuntime;
}) {
  const { db, clock, box, runtime } = deps;
  const { webhookEndpoints, webhookDeliveries, webhookAttempts, monitoringEvents } = schema;
  const targetContext = (id: string) => `webhook-target:${id}`;
  const secretContext = (id: string) => `webhook-secret:${id}`;

  const endpointIdOf = (typedId: string) => {
    const id = decodeId('whk', typedId);
    if (!id) throw notFound('webhook endpoint', typedId);
    return id;
  };

  async function vetTarget(
    format: EndpointFormat,
    target: string,
  ): Promise<{ target: string; display: string }> {
    if (format === 'email') {
      const address = target.trim();
      if (!EMAIL_RE.test(address)) throw invalid('body.target', 'must be an e-mail address');
      if (!runtime.mailer && !runtime.emailEnabled)
        throw invalid('body.format', 'e-mail alerts need a mail relay configured by the operator');
      return { target: address, display: address.toLowerCase() };
    }
    const check = await validateWebhookUrl(target, {
      resolver: runtime.resolver,
      allow: runtime.allow,
      ...(runtime.allowHttp ? { allowHttp: true } : {}),
    });
    if (!check.ok) {
      const err = webhookUrlError(check, 'body.target');
      throw new AppError('webhook_target_refused', {
        detail: err.detail,
        errors: err.errors,
        extensions: err.extensions,
      });
    }
    return { target: check.url, display: check.displayTarget };
  }

  async function loadEndpoint(tx: Tx, id: string, typedId: string): Promise<WebhookEndpointRow> {
    const [row] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    if (!row) throw notFound('webhook endpoint', typedId);
    return row;
  }

  function openSecrets(row: WebhookEndpointRow): SealedSecrets | null {
    if (!row.secretCiphertext) return null;
    return JSON.parse(
      box.open(row.secretCiphertext, secretContext(row.id)).toString('utf8'),
    ) as SealedSecrets;
  }

  function sealSecrets(id: string, secrets: SealedSecrets): string {
    return box.seal(JSON.stringify(secrets), secretContext(id));
  }

  /** Writes an event of the tenant's own (webhook.test, endpoint.disabled) into the outbox. */
  async function writeEvent(
    tx: Tx,
    tenantId: string,
    type: EventType,
    payload: Record<string, unknown>,
    severity: 'info' | 'high',
  ) {
    const id = uuidv7(clock.now().getTime());
    await tx
      .insert(monitoringEvents)
      .values({ id, tenantId, domainId: null, type, severity, payload, occurredAt: clock.now() });
    return id;
  }

  const service = {
    /** Creates an endpoint; the signing secret (`whsec_…`) is returned once, here. */
    async create(
      tenantId: string,
      input: EndpointInput,
    ): Promise<{ endpoint: EndpointView; secret: string | null }> {
      const events = checkEvents(input.events);
      const { target, display } = await vetTarget(input.format, input.target);
      const id = uuidv7(clock.now().getTime());
      const secret = input.format === 'email' ? null : generateWebhookSecret();
      const row = await withTenant(db, tenantId, async (tx) => {
        const existing = await tx
          .select({ id: webhookEndpoints.id })
          .from(webhookEndpoints)
          .limit(maxEndpointsPerTenant);
        if (existing.length >= maxEndpointsPerTenant)
          throw new AppError('quota_exceeded', {
            detail: `a tenant has at most ${maxEndpointsPerTenant} alert endpoints`,
            extensions: { quota: 'webhook_endpoints', limit: maxEndpointsPerTenant },
          });
        const [created] = await tx
          .insert(webhookEndpoints)
          .values({
            id,
            tenantId,
            format: input.format,
            targetCiphertext: box.seal(target, targetContext(id)),
            displayTarget: display,
            secretCiphertext: secret
              ? sealSecrets(id, { current: secret, previous: null, previousValidUntil: null })
              : null,
            events,
            enabled: input.enabled ?? true,
            dailyDigest: input.format === 'email' && (input.dailyDigest ?? false),
            description: (input.description ?? '').slice(0, 500),
          })
          .returning();
        return created!;
      });
      return { endpoint: view(row), secret };
    },

    async list(tenantId: string): Promise<EndpointView[]> {
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .select()
          .from(webhookEndpoints)
          .orderBy(asc(webhookEndpoints.id))
          .limit(maxEndpointsPerTenant * 2),
      );
      return rows.map(view);
    },

    async get(tenantId: string, typedId: string): Promise<EndpointView> {
      const id = endpointIdOf(typedId);
      return view(await withTenant(db, tenantId, (tx) => loadEndpoint(tx, id, typedId)));
    },

    async update(
      tenantId: string,
      typedId: string,
      input: Partial<Omit<EndpointInput, 'format'>>,
    ): Promise<EndpointView> {
      const id = endpointIdOf(typedId);
      const events = input.events ? checkEvents(input.events) : undefined;
      const current = await withTenant(db, tenantId, (tx) => loadEndpoint(tx, id, typedId));
      const vetted = input.target !== undefined ? await vetTarget(current.format, input.target) : undefined;
      const [row] = await withTenant(db, tenantId, (tx) =>
        tx
          .update(webhookEndpoints)
          .set({
            ...(vetted
              ? {
                  targetCiphertext: box.seal(vetted.target, targetContext(id)),
                  displayTarget: vetted.display,
                }
              : {}),
            ...(events ? { events } : {}),
            ...(input.description !== undefined ? { description: input.description.slice(0, 500) } : {}),
            ...(input.dailyDigest !== undefined && current.format === 'email'
              ? { dailyDigest: input.dailyDigest }
              : {}),
            // Re-enabling clears the reason and the failure streak: the owner says it is fixed.
            ...(input.enabled === true ? { enabled: true, disabledReason: null, failingSince: null } : {}),
            ...(input.enabled === false ? { enabled: false, disabledReason: 'disabled_by_user' } : {}),
            updatedAt: clock.now(),
          })
          .where(eq(webhookEndpoints.id, id))
          .returning(),
      );
      return view(row!);
    },

    async remove(tenantId: string, typedId: string): Promise<void> {
      const id = endpointIdOf(typedId);
      await withTenant(db, tenantId, async (tx) => {
        await loadEndpoint(tx, id, typedId);
        await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
      });
    },

    /** New secret; the previous one keeps signing (a second `v1,` signature) for a day. */
    async rotateSecret(
      tenantId: string,
      typedId: string,
    ): Promise<{ secret: string; previousValidUntil: string }> {
      const id = endpointIdOf(typedId);
      return withTenant(db, tenantId, async (tx) => {
        const row = await loadEndpoint(tx, id, typedId);
        const old = openSecrets(row);
        if (!old) throw invalid('params.id', 'e-mail endpoints have no signing secret');
        const secret = generateWebhookSecret();
        const previousValidUntil = new Date(clock.now().getTime() + secretRotationGraceMs).toISOString();
        await tx
          .update(webhookEndpoints)
          .set({
            secretCiphertext: sealSecrets(id, { current: secret, previous: old.current, previousValidUntil }),
            updatedAt: clock.now(),
          })
          .where(eq(webhookEndpoints.id, id));
        return { secret, previousValidUntil };
      });
    },

    /** A `webhook.test` event to this endpoint only; returns the delivery to send. */
    async sendTest(tenantId: string, typedId: string): Promise<{ eventId: string; deliveryId: string }> {
      const id = endpointIdOf(typedId);
      return withTenant(db, tenantId, async (tx) => {
        const row = await loadEndpoint(tx, id, typedId);
        const eventId = await writeEvent(
          tx,
          tenantId,
          'webhook.test',
          {
            endpoint: { id: row.id, displayTarget: row.displayTarget, format: row.format },
            message: 'This is a test event from Mailwarden.',
          },
          'info',
        );
        const deliveryId = uuidv7(clock.now().getTime());
        await tx
          .insert(webhookDeliveries)
          .values({ id: deliveryId, tenantId, endpointId: id, eventId, nextAttemptAt: clock.now() });
        await tx
          .update(monitoringEvents)
          .set({ dispatchedAt: clock.now() })
          .where(eq(monitoringEvents.id, eventId));
        return { eventId, deliveryId };
      });
    },

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

export type WebhooksService = ReturnType<typeof createWebhooksService>;
