/** The shapes and limits of alert endpoints, shared by the endpoint and delivery services. */
import type { Resolver } from '@mailwarden/core';
import type { EndpointFormat, EventType } from '@mailwarden/db';
import type { AllowList } from '@mailwarden/net';
import type { DeliverWebhookOptions, WebhookAttempt } from '../delivery/deliver-webhook.ts';
import type { AlertMailer } from '../email/alert-email.ts';

/** Endpoints per tenant. */
export const maxEndpointsPerTenant = 25;
/** After rotation the previous secret still signs for this long, so receivers can switch over. */
export const secretRotationGraceMs = 24 * 3_600_000;

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
