/**
 * What both webhook services share: sealing and opening an endpoint's target and secrets (AES-GCM,
 * bound to the endpoint id as context), loading an endpoint, and writing the tenant's own events.
 */
import { AppError, type Clock, decodeId, notFound, type SecretBox, uuidv7 } from '@mailwarden/core';
import { type EventType, schema, type Tx, type WebhookEndpointRow } from '@mailwarden/db';
import { eq } from 'drizzle-orm';

export interface SealedSecrets {
  current: string;
  previous: string | null;
  previousValidUntil: string | null;
}

export function invalid(location: string, message: string): AppError {
  return new AppError('validation_failed', {
    detail: `${location} ${message}`,
    errors: [{ location, message }],
  });
}

export function createEndpointStore(deps: { clock: Clock; box: SecretBox }) {
  const { clock, box } = deps;
  const { webhookEndpoints, monitoringEvents } = schema;
  const targetContext = (id: string) => `webhook-target:${id}`;
  const secretContext = (id: string) => `webhook-secret:${id}`;
  return {
    targetContext,
    secretContext,
    endpointIdOf(typedId: string): string {
      const id = decodeId('whk', typedId);
      if (!id) throw notFound('webhook endpoint', typedId);
      return id;
    },
    async loadEndpoint(tx: Tx, id: string, typedId: string): Promise<WebhookEndpointRow> {
      const [row] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
      if (!row) throw notFound('webhook endpoint', typedId);
      return row;
    },
    openSecrets(row: WebhookEndpointRow): SealedSecrets | null {
      if (!row.secretCiphertext) return null;
      return JSON.parse(
        box.open(row.secretCiphertext, secretContext(row.id)).toString('utf8'),
      ) as SealedSecrets;
    },
    sealSecrets(id: string, secrets: SealedSecrets): string {
      return box.seal(JSON.stringify(secrets), secretContext(id));
    },
    /** Writes an event of the tenant's own (webhook.test, endpoint.disabled) into the outbox. */
    async writeEvent(
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
    },
  };
}

export type EndpointStore = ReturnType<typeof createEndpointStore>;
