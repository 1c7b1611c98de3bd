import { uuidv7 } from '@mailwarden/core';
import { describe, expect, it } from 'vitest';
import { type AlertEvent, createAlertEvent } from '../events/alert-events.ts';
import {
  type AlertMailer,
  type AlertMailMessage,
  escapeHtml,
  formatAlertEmail,
  formatDigestEmail,
  MAX_SUBJECT_CHARS,
  sanitizeSubject,
} from './alert-email.ts';

const at = new Date('2026-02-03T04:05:06.789Z');
const BASE = 'https://app.mailwarden.test';
const example = { id: uuidv7(), name: 'example.com' };
const other = { id: uuidv7(), name: 'other.org' };

function opened(domain = example, overrides: Record<string, unknown> = {}) {
  return createAlertEvent(
    'finding.opened',
    {
      domain,
      finding: {
        id: uuidv7(),
        code: 'dmarc.policy_none',
        subject: domain.name,
        message: 'The DMARC policy is p=none.',
        evidence: { record: 'v=DMARC1; p=none; rua=mailto:<script>alert(1)</script>@x' },
        firstSeenAt: at,
        lastSeenAt: at,
        ...overrides,
      },
    },
    at,
  );
}

/** A mailer that keeps what it is given, as a relay adapter would receive it. */
function recordingMailer(): AlertMailer & { sent: AlertMailMessage[] } {
  const sent: AlertMailMessage[] = [];
  return { sent, send: async (m) => void sent.push(m) };
}

describe('formatAlertEmail', () => {
  it('should say the same thing in text and HTML, with everything escaped in HTML', async () => {
    const event = opened();
    const mail = formatAlertEmail(event, { to: 'ops@example.com', dashboardBaseUrl: BASE });
    expect(mail.kind).toBe('alert');
    expect(mail.subject).toBe(`[Mailwarden] Medium: ${event.data.finding.title} on example.com`);
    expect(mail.text).toContain('Domain: example.com');
    expect(mail.text).toContain('Finding: dmarc.policy_none');
    expect(mail.text).toContain('<script>alert(1)</script>'); // plain text is not markup
    expect(mail.text).toContain('How to fix:');
    expect(mail.text).toContain(
      `Open in Mailwarden: ${BASE}/domains/${event.data.domain.id}/findings/${event.data.finding.id}`,
    );
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail.html).toContain(
      `<a href="${BASE}/domains/${event.data.domain.id}/findings/${event.data.finding.id}">`,
    );
    expect(mail.html).toContain('<code>dmarc.policy_none</code>');
    const mailer = recordingMailer();
    await mailer.send(mail);
    expect(mailer.sent).toEqual([mail]);
  });

  it('should keep the subject on one line and bounded, whatever the title holds', () => {
    const event = opened(example, { title: `Evil\r\nBcc: victim@example.net\u2028${'t'.repeat(1_000)}` });
    const mail = formatAlertEmail(event, { to: 'ops@example.com' });
    expect(mail.subject).not.toMatch(/[\r\n\u2028]/);
    expect(mail.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_CHARS);
    expect(mail.subject).toContain('Evil Bcc: victim@example.net');
    expect(sanitizeSubject(' a \t\n b ')).toBe('a b');
  });

  it('should refuse a recipient that is not one plain address', () => {
    for (const to of ['a@b.test\r\nBcc: c@d.test', 'a@b.test, c@d.test', 'nobody', '<a@b.test>']) {
      expect(() => formatAlertEmail(opened(), { to }), to).toThrow();
    }
  });

  it('should bound huge evidence and leave the link out without a dashboard URL', () => {
    const event = opened();
    (event.data.finding as { evidence: Record<string, unknown> }).evidence = { big: '<'.repeat(500_000) };
    const mail = formatAlertEmail(event, { to: 'ops@example.com', maxEvidenceChars: 2_000 });
    expect(mail.text.length).toBeLessThan(5_000);
    expect(mail.html.length).toBeLessThan(12_000);
    expect(mail.text).not.toContain('Open in');
  });

  it('should escape every HTML special character', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});

describe('formatDigestEmail', () => {
  const resolved = createAlertEvent(
    'finding.resolved',
    { domain: other, finding: { ...opened(other).data.finding, resolvedAt: at } },
    at,
  );
  const degraded = createAlertEvent(
    'posture.degraded',
    {
      domain: other,
      previous: { score: 90, grade: 'A', partial: false },
      current: { score: 30, grade: 'F', partial: false },
    },
    at,
  );
  const testEvent = createAlertEvent(
    'webhook.test',
    { endpoint: { id: uuidv7(), displayTarget: 'ops@example.com', format: 'email' }, message: 'Hi' },
    at,
  );

  it('should group by domain, worst first, with counts in the subject', () => {
    const critical = opened(example, { severity: 'critical', title: 'Critical thing' });
    const low = opened(example, { severity: 'low', title: 'Low thing' });
    const mail = formatDigestEmail([low, resolved, critical, degraded, testEvent], {
      to: 'ops@example.com',
      day: at,
      dashboardBaseUrl: BASE,
    });
    expect(mail?.kind).toBe('alert_digest');
    expect(mail?.subject).toBe(
      '[Mailwarden] Daily digest 2026-02-03: 2 new findings, 1 resolved, 2 other events',
    );
    const text = mail?.text ?? '';
    expect(text.indexOf('Account')).toBeLessThan(text.indexOf('example.com'));
    expect(text.indexOf('example.com')).toBeLessThan(text.indexOf('other.org'));
    expect(text.indexOf('Critical thing')).toBeLessThan(text.indexOf('Low thing'));
    expect(text.indexOf('[High] Posture degraded')).toBeLessThan(text.indexOf('[Info] Resolved'));
    expect(mail?.html).toContain(`<a href="${BASE}/domains/${critical.data.domain.id}`);
  });

  it('should list at most maxItems and count the rest, and send nothing for no events', () => {
    const many: AlertEvent[] = Array.from({ length: 30 }, () => opened());
    const mail = formatDigestEmail(many, { to: 'ops@example.com', day: at, maxItems: 10 });
    expect(mail?.text.match(/^\* /gm)).toHaveLength(10);
    expect(mail?.text).toContain('…and 20 more events; see the dashboard for all of them.');
    expect(mail?.subject).toBe('[Mailwarden] Daily digest 2026-02-03: 30 new findings');
    expect(formatDigestEmail([], { to: 'ops@example.com', day: at })).toBeNull();
  });

  it('should escape hostile titles in the digest HTML', () => {
    const mail = formatDigestEmail([opened(example, { title: '<img src=x onerror=alert(1)>' })], {
      to: 'ops@example.com',
      day: at,
    });
    expect(mail?.html).not.toContain('<img');
    expect(mail?.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});
