/**
 * The alert event envelope: what every channel (signed JSON webhook, Slack, e-mail) is built from.
 *
 * Shape (Standard Webhooks' recommended payload structure): `{type, timestamp, data}`. `type` is a
 * dotted name from `alertEventTypes`; `timestamp` is when the event happened (ISO 8601, UTC), not
 * when it was sent; `data` depends on the type.
 *
 * Tenant safety is structural: every payload is rebuilt by a per-type picker that copies only the
 * fields listed here, so a database row passed in whole (with its ciphertexts, tenant id or the
 * endpoint's full URL, which for Slack carries a token) cannot leak into a payload. Free-form parts
 * (finding evidence, report details) are bounded in size.
 *
 * Ids in payloads are the public typed ids (`dom_…`, `fnd_…`, `whk_…`, `mbx_…`, `evt_…`), never raw
 * uuids.
 *
 * This module holds severity, domain and serialisation; the types (event-types.ts), field coercion
 * (event-fields.ts) and the per-type pickers (event-builders.ts) are re-exported from here.
 */
import type { Severity } from '@mailwarden/checks';
import type { Loose } from './event-fields.ts';
import type { AlertEvent, DomainRef } from './event-types.ts';

export { createAlertEvent, eventFromStored, type StoredEventResult } from './event-builders.ts';
export { boundJson, displayTarget, publicId, truncateText } from './event-fields.ts';
export * from './event-types.ts';

/**
 * How urgent an event is, for the Slack header, the e-mail subject and the outbox `severity`
 * column. A finding carries its own; a posture drop to D or F is high.
 */
export function eventSeverity(event: AlertEvent): Severity {
  switch (event.type) {
    case 'finding.opened':
      return event.data.finding.severity;
    case 'posture.degraded':
      return event.data.current.grade === 'D' || event.data.current.grade === 'F' ? 'high' : 'medium';
    case 'check.untestable':
      return 'medium';
    case 'endpoint.disabled':
    case 'report_mailbox.failing':
      return 'high';
    case 'dmarc.unknown_source':
    case 'tls_rpt.failures':
      return event.data.severity;
    default:
      return 'info';
  }
}

/** The domain an event is about, when it is about one. */
export function eventDomain(event: AlertEvent): DomainRef | undefined {
  return 'domain' in event.data ? event.data.domain : undefined;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Loose)[key]);
  return out;
}

/**
 * The request body of a `standard` delivery. Key order is fixed (`type`, `timestamp`, `data`, and
 * sorted keys inside `data`), so an event read back from jsonb — which reorders keys — serializes
 * to the same bytes every time.
 */
export function serializeEvent(event: AlertEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: sortKeys(event.data) });
}
