/**
 * Links from an alert back to the dashboard. The base is the operator's public URL of the web app
 * (e.g. `https://app.mailwarden.example`); the paths below are the dashboard's routes for a
 * domain, a finding, a webhook endpoint and a report mailbox.
 */
import type { AlertEvent } from './alert-events.ts';

/** Slack refuses button URLs longer than this; a longer link is left out rather than cut. */
export const MAX_LINK_LENGTH = 3_000;

export function dashboardUrlFor(event: AlertEvent, baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return undefined;
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    return undefined;
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') return undefined;
  const root = base.toString().replace(/\/+$/, '');
  let path: string;
  switch (event.type) {
    case 'finding.opened':
    case 'finding.resolved':
      path = `/domains/${event.data.domain.id}/findings/${event.data.finding.id}`;
      break;
    case 'webhook.test':
    case 'endpoint.disabled':
      path = `/settings/webhooks/${event.data.endpoint.id}`;
      break;
    case 'report_mailbox.failing':
    case 'report_mailbox.recovered':
      path = `/settings/report-mailboxes/${event.data.mailbox.id}`;
      break;
    default:
      path = `/domains/${event.data.domain.id}`;
  }
  const url = root + path;
  return url.length <= MAX_LINK_LENGTH ? url : undefined;
}
