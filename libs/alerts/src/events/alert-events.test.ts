import { encodeId, uuidv7 } from '@mailwarden/core';
import { describe, expect, it } from 'vitest';
import {
  type AlertEventInput,
  alertEventTypes,
  boundJson,
  createAlertEvent,
  displayTarget,
  eventFromStored,
  eventSeverity,
  MAX_EVIDENCE_BYTES,
  publicId,
  serializeEvent,
} from './alert-events.ts';

const at = new Date('2026-02-03T04:05:06.789Z');
const domainUuid = uuidv7();
const domain = { id: domainUuid, name: 'example.com' };
const mailbox = {
  id: uuidv7(),
  host: 'imap.example.com',
  port: 993,
  username: 'dmarc@example.com',
  folder: 'Reports/DMARC',
};
const finding = {
  id: uuidv7(),
  code: 'dmarc.policy_none',
  subject: 'example.com',
  message: 'The DMARC policy is p=none: failing mail is delivered.',
  evidence: { record: 'v=DMARC1; p=none; rua=mailto:d@example.com' },
  firstSeenAt: at,
  lastSeenAt: at,
};

/** A made-up row shaped like what a careless caller might pass: everything, secrets included. */
function leakyRow() {
  return {
    id: uuidv7(),
    tenantId: uuidv7(),
    format: 'slack',
    displayTarget: 'https://hooks.slack.com/services/T000/B000/XXXXSECRETTOKEN',
    targetCiphertext: 'v1.abcd.iv.ct.tag',
    secretCiphertext: 'v1.abcd.iv.whsec.tag',
    secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
  };
}

describe('createAlertEvent', () => {
  it('should build a finding.opened envelope with typed ids and catalogue text', () => {
    const event = createAlertEvent('finding.opened', { domain, finding }, at);
    expect(event).toMatchObject({
      type: 'finding.opened',
      timestamp: '2026-02-03T04:05:06.789Z',
      data: {
        domain: { id: encodeId('dom', domainUuid), name: 'example.com' },
        finding: {
          id: encodeId('fnd', finding.id),
          code: 'dmarc.policy_none',
          check: 'dmarc',
          subject: 'example.com',
          evidence: finding.evidence,
          firstSeenAt: at.toISOString(),
          resolvedAt: null,
        },
      },
    });
    // Title, severity and remediation come from the findings catalogue when not given.
    expect(event.data.finding.title.length).toBeGreaterThan(5);
    expect(event.data.finding.remediation.length).toBeGreaterThan(10);
    expect(eventSeverity(event)).toBe(event.data.finding.severity);
  });

  it('should keep caller overrides and fall back to the code for unknown findings', () => {
    const event = createAlertEvent(
      'finding.resolved',
      { domain, finding: { ...finding, code: 'future.thing', severity: 'high', resolvedAt: at } },
      at,
    );
    expect(event.data.finding).toMatchObject({
      title: 'future.thing',
      check: 'future',
      severity: 'high',
      remediation: '',
      resolvedAt: at.toISOString(),
    });
    expect(eventSeverity(event)).toBe('info');
  });

  it('should copy only documented fields: no tenant id, ciphertext, secret or URL path', () => {
    const row = leakyRow();
    const disabled = createAlertEvent(
      'endpoint.disabled',
      {
        endpoint: row as never,
        reason: 'gone',
        failingSince: at,
        lastStatusCode: 410,
        lastError: 'gone',
        ...({ secret: row.secret, tenantId: row.tenantId } as object),
      } as AlertEventInput<'endpoint.disabled'>,
      at,
    );
    const body = serializeEvent(disabled);
    for (const leaked of [
      row.tenantId,
      row.targetCiphertext,
      row.secretCiphertext,
      row.secret,
      'SECRETTOKEN',
    ]) {
      expect(body).not.toContain(leaked);
    }
    expect(disabled.data.endpoint).toEqual({
      id: encodeId('whk', row.id),
      displayTarget: 'https://hooks.slack.com',
      format: 'slack',
    });
  });

  it('should build every event type', () => {
    const endpoint = {
      id: uuidv7(),
      displayTarget: 'https://hooks.example.net',
      format: 'standard' as const,
    };
    const report = { reporter: 'google.com', reportId: '123', periodStart: at, periodEnd: at };
    const inputs: { [K in (typeof alertEventTypes)[number]]: AlertEventInput<K> } = {
      'finding.opened': { domain, finding },
      'finding.resolved': { domain, finding: { ...finding, resolvedAt: at } },
      'posture.degraded': {
        domain,
        previous: { score: 91, grade: 'A', partial: false },
        current: { score: 52, grade: 'D', partial: true },
      },
      'posture.improved': {
        domain,
        previous: { score: 52, grade: 'D', partial: false },
        current: { score: null, grade: null, partial: true },
      },
      'domain.verified': { domain, verifiedAt: at },
      'check.untestable': {
        domain,
        check: 'dns',
        reason: 'timeout',
        detail: 'no answer from any server',
        consecutiveRuns: 2,
        since: at,
      },
      'webhook.test': { endpoint, message: 'Hello' },
      'endpoint.disabled': {
        endpoint,
        reason: 'failing_too_long',
        failingSince: at,
        lastStatusCode: 503,
        lastError: 'http_status',
      },
      'dmarc.unknown_source': {
        domain,
        severity: 'medium',
        summary: '203.0.113.7 sent 1204 messages as example.com and failed DMARC',
        report,
        details: { sourceIp: '203.0.113.7', count: 1204 },
      },
      'tls_rpt.failures': {
        domain,
        severity: 'high',
        summary: '12 sessions failed',
        report: null,
        details: { failures: [{ resultType: 'certificate-expired', count: 12 }] },
      },
      'report_mailbox.failing': {
        mailbox,
        lastError: { code: 'imap.auth_failed', detail: 'AUTHENTICATIONFAILED' },
        consecutiveFailures: 5,
        lastSuccessAt: null,
      },
      'report_mailbox.recovered': {
        mailbox,
        lastError: { code: 'imap.auth_failed', detail: null },
        consecutiveFailures: 0,
        failingSince: at,
      },
    };
    for (const type of alertEventTypes) {
      const event = createAlertEvent(type, inputs[type] as never, at);
      expect(event.type).toBe(type);
      expect(JSON.parse(serializeEvent(event))).toEqual(JSON.parse(JSON.stringify(event)));
    }
    const degraded = createAlertEvent('posture.degraded', inputs['posture.degraded'], at);
    expect(degraded.data.scoreChange).toBe(-39);
    expect(eventSeverity(degraded)).toBe('high');
    expect(createAlertEvent('posture.improved', inputs['posture.improved'], at).data.scoreChange).toBeNull();
    const failing = createAlertEvent('report_mailbox.failing', inputs['report_mailbox.failing'], at);
    expect(eventSeverity(failing)).toBe('high');
    expect(
      eventSeverity(createAlertEvent('report_mailbox.recovered', inputs['report_mailbox.recovered'], at)),
    ).toBe('info');
  });

  it('should build report mailbox events from a whole row without its password or tenant', () => {
    // What a careless caller might pass: the mailbox row as read, sealed password and all.
    const row = {
      ...mailbox,
      tenantId: uuidv7(),
      passwordCiphertext: 'v1.key.iv.SEALEDPASSWORD.tag',
      password: 'hunter2-plain',
      security: 'tls',
    };
    const failing = createAlertEvent(
      'report_mailbox.failing',
      {
        mailbox: row,
        lastError: { code: 'imap.auth_failed', detail: 'x'.repeat(5_000) },
        consecutiveFailures: 5,
        lastSuccessAt: at,
        ...({ tenantId: row.tenantId } as object),
      },
      at,
    );
    expect(failing).toEqual({
      type: 'report_mailbox.failing',
      timestamp: at.toISOString(),
      data: {
        mailbox: {
          id: encodeId('mbx', mailbox.id),
          host: 'imap.example.com',
          port: 993,
          username: 'dmarc@example.com',
          folder: 'Reports/DMARC',
        },
        lastError: { code: 'imap.auth_failed', detail: expect.stringMatching(/^x{499}…$/) },
        consecutiveFailures: 5,
        lastSuccessAt: at.toISOString(),
      },
    });
    const body = serializeEvent(failing);
    for (const leaked of [row.tenantId, 'SEALEDPASSWORD', 'hunter2', mailbox.id])
      expect(body).not.toContain(leaked);

    // Read back from the outbox: the same picker, so a row of another shape cannot add fields.
    const stored = eventFromStored({
      type: 'report_mailbox.recovered',
      occurredAt: at,
      payload: { mailbox: row, lastError: null, consecutiveFailures: 7, failingSince: at.toISOString() },
    });
    expect(stored).toEqual({
      ok: true,
      event: {
        type: 'report_mailbox.recovered',
        timestamp: at.toISOString(),
        data: {
          mailbox: failing.data.mailbox,
          lastError: null,
          consecutiveFailures: 7,
          failingSince: at.toISOString(),
        },
      },
    });
    expect(
      eventFromStored({ type: 'report_mailbox.failing', occurredAt: at, payload: { mailbox: { id: 'x' } } }),
    ).toMatchObject({ ok: false });
  });

  it('should bound huge evidence to a marker with an excerpt', () => {
    const huge = { record: 'x'.repeat(1_000_000) };
    const event = createAlertEvent('finding.opened', { domain, finding: { ...finding, evidence: huge } }, at);
    expect(event.data.finding.evidence).toMatchObject({ truncated: true, originalBytes: 1_000_013 });
    expect(Buffer.byteLength(JSON.stringify(event.data.finding.evidence))).toBeLessThan(MAX_EVIDENCE_BYTES);
    expect(boundJson({ n: 1n }, 100)).toEqual({ truncated: true, reason: 'not serializable' });
  });

  it('should refuse ids that are neither uuids nor typed ids of the right kind', () => {
    expect(() =>
      createAlertEvent('domain.verified', { domain: { id: 'nope', name: 'x' }, verifiedAt: at }, at),
    ).toThrow();
    const typed = encodeId('dom', domainUuid);
    expect(publicId('dom', typed)).toBe(typed);
    expect(() => publicId('fnd', typed)).toThrow();
  });
});

describe('serializeEvent', () => {
  it('should give the same bytes after a jsonb-like round trip that reorders keys', () => {
    const event = createAlertEvent(
      'finding.opened',
      { domain, finding: { ...finding, evidence: { b: 1, a: { d: 2, c: 3 } } } },
      at,
    );
    const reordered = JSON.parse(JSON.stringify(event.data), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    );
    const back = eventFromStored({ type: event.type, occurredAt: at, payload: reordered });
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(serializeEvent(back.event)).toBe(serializeEvent(event));
    expect(
      serializeEvent(event).startsWith(
        '{"type":"finding.opened","timestamp":"2026-02-03T04:05:06.789Z","data":{',
      ),
    ).toBe(true);
  });
});

describe('eventFromStored', () => {
  it('should refuse unknown types and bad payloads as results, not throws', () => {
    expect(eventFromStored({ type: 'nope', occurredAt: at, payload: {} })).toMatchObject({ ok: false });
    expect(
      eventFromStored({ type: 'finding.opened', occurredAt: at, payload: { domain: {} } }),
    ).toMatchObject({
      ok: false,
    });
    expect(
      eventFromStored({ type: 'finding.opened', occurredAt: new Date(Number.NaN), payload: {} }),
    ).toMatchObject({
      ok: false,
    });
  });

  it('should drop fields a stored payload should not have', () => {
    const event = createAlertEvent('domain.verified', { domain, verifiedAt: at }, at);
    const back = eventFromStored({
      type: 'domain.verified',
      occurredAt: at,
      payload: { ...event.data, tenantId: 'x', verificationToken: 'mw-verify-123' },
    });
    expect(back.ok && back.event).toEqual(event);
  });
});

describe('displayTarget', () => {
  it('should keep scheme, host and port only', () => {
    expect(displayTarget('https://hooks.slack.com/services/T/B/token?x=1#y')).toBe('https://hooks.slack.com');
    expect(displayTarget('http://127.0.0.1:8080/hook')).toBe('http://127.0.0.1:8080');
    expect(displayTarget('alerts@example.com')).toBe('alerts@example.com');
    expect(displayTarget('https://user:pw@host.example/x')).toBe('https://host.example');
  });
});
