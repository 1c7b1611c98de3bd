/**
 * Alert endpoints: create (the signing secret is shown once), list, show, change, remove, rotate the
 * secret, send a test event. Targets are vetted at save time through the SSRF guard.
 */
import { AppError, type Clock, encodeId, type SecretBox, uuidv7 } from '@mailwarden/core';
import {
  type Database,
  type EndpointFormat,
  type EventType,
  eventTypes,
  schema,
  type WebhookEndpointRow,
  withTenant,
} from '@mailwarden/db';
import { asc, eq } from 'drizzle-orm';
import { validateWebhookUrl, webhookUrlError } from '../delivery/webhook-url.ts';
import { generateWebhookSecret } from '../signing/standard-webhooks.ts';

import { type EndpointStore, invalid } from './endpoint-store.ts';
import {
  type EndpointInput,
  type EndpointView,
  maxEndpointsPerTenant,
  secretRotationGraceMs,
  type WebhookRuntime,
} from './types.ts';

const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,63}$/i;

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

function checkEvents(events: readonly string[] | undefined): EventType[] {
  const list = [...new Set(events ?? [])];
  for (const e of list)
    if (!(eventTypes as readonly string[]).includes(e))
      throw invalid('body.events', `"${e}" is not an event type`);
  return list as EventType[];
}

export function createEndpointsService(
  deps: { db: Database; clock: Clock; box: SecretBox; runtime: WebhookRuntime },
  store: EndpointStore,
) {
  const { db, clock, box, runtime } = deps;
  const { webhookEndpoints, webhookDeliveries, monitoringEvents } = schema;
  const { targetContext, endpointIdOf, loadEndpoint, openSecrets, sealSecrets, writeEvent } = store;

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

  return {
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
  };
}
