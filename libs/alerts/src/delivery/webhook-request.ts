/**
 * The body and headers of one delivery attempt, by endpoint format:
 *
 * - `standard`: the event envelope (`serializeEvent`), signed per Standard Webhooks. The
 *   `webhook-id` is the event's `evt_…` id, the same on every retry and redelivery, so receivers
 *   deduplicate on it; `webhook-timestamp` is the time of this attempt (each attempt is signed
 *   afresh, so a retry 10 hours later is still inside the receiver's 5-minute tolerance).
 * - `slack`: a Block Kit message. Slack does not verify signatures (the URL is the credential),
 *   so none are added.
 */
import type { AlertEvent } from '../events/alert-events.ts';
import { publicId, serializeEvent } from '../events/alert-events.ts';
import { webhookSignatureHeaders } from '../signing/standard-webhooks.ts';
import { formatSlackMessage, type SlackFormatOptions } from '../slack/slack-format.ts';

export interface WebhookRequest {
  body: string;
  headers: Record<string, string>;
}

export type WebhookRequestInput = {
  event: AlertEvent;
  /** The outbox row's uuid or `evt_…` id. */
  eventId: string;
  /** When this attempt is made. */
  now: Date;
} & (
  | {
      format: 'standard' /** Active secrets, current first (see `activeSecrets`). */;
      secrets: readonly string[];
    }
  | ({ format: 'slack' } & SlackFormatOptions)
);

export function buildWebhookRequest(input: WebhookRequestInput): WebhookRequest {
  const id = publicId('evt', input.eventId);
  if (input.format === 'slack') {
    const { event, eventId: _id, now: _now, format: _format, ...slackOptions } = input;
    return {
      body: JSON.stringify(formatSlackMessage(event, slackOptions)),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    };
  }
  const body = serializeEvent(input.event);
  return {
    body,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...webhookSignatureHeaders({ id, timestamp: input.now, body, secrets: input.secrets }),
    },
  };
}
