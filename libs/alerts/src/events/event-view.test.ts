/**
 * How the tenant-level report mailbox events read in every channel (the view Slack and e-mail
 * render, and the dashboard link), next to `endpoint.disabled`, the other event without a domain.
 */
import { encodeId, uuidv7 } from '@mailwarden/core';
import { describe, expect, it } from 'vitest';
import { formatAlertEmail } from '../email/alert-email.ts';
import { formatSlackMessage } from '../slack/slack-format.ts';
import { createAlertEvent } from './alert-events.ts';
import { dashboardUrlFor } from './dashboard-links.ts';
import { viewEvent } from './event-view.ts';

const at = new Date('2026-02-03T04:05:06.789Z');
const BASE = 'https://app.mailwarden.test';
const mailbox = {
  id: uuidv7(),
  host: 'imap.example.com',
  port: 993,
  username: 'dmarc@example.com',
  folder: 'Reports/DMARC',
};
const mbx = encodeId('mbx', mailbox.id);

const failing = (code = 'imap.auth_failed', detail: string | null = 'AUTHENTICATIONFAILED <bad>') =>
  createAlertEvent(
    'report_mailbox.failing',
    { mailbox, lastError: { code, detail }, consecutiveFailures: 5, lastSuccessAt: null },
    at,
  );
const recovered = createAlertEvent(
  'report_mailbox.recovered',
  {
    mailbox,
    lastError: { code: 'imap.auth_failed', detail: 'AUTHENTICATIONFAILED' },
    consecutiveFailures: 0,
    failingSince: new Date('2026-02-01T00:00:00Z'),
  },
  at,
);

describe('report mailbox events in a view', () => {
  it('should say which mailbox failed, with what, and how to fix it', () => {
    const view = viewEvent(failing());
    expect(view).toMatchObject({
      type: 'report_mailbox.failing',
      severity: 'high',
      headline: 'Report mailbox failing: dmarc@example.com on imap.example.com',
      facts: [
        { label: 'Server', value: 'imap.example.com:993' },
        { label: 'User', value: 'dmarc@example.com' },
        { label: 'Folder', value: 'Reports/DMARC' },
        { label: 'Error', value: 'imap.auth_failed', code: true },
        { label: 'Failed polls in a row', value: '5' },
        { label: 'Last success', value: 'never' },
      ],
      remediation: 'Set the current user name and password of the mailbox.',
    });
    expect(view.domain).toBeUndefined();
    expect(view.paragraphs[0]).toContain('5 polls in a row failed');
    expect(view.paragraphs[1]).toBe('AUTHENTICATIONFAILED <bad>');
    // A code without its own advice gets the generic one.
    expect(viewEvent(failing('imap.timeout', null))).toMatchObject({
      paragraphs: [expect.stringContaining('not being read')],
      remediation: expect.stringContaining('a changed setting is polled within a minute'),
    });
  });

  it('should say a mailbox is read again, since when it failed and with what', () => {
    const view = viewEvent(recovered);
    expect(view).toMatchObject({
      severity: 'info',
      headline: 'Report mailbox recovered: dmarc@example.com on imap.example.com',
      icon: ':white_check_mark:',
      facts: [
        { label: 'Server', value: 'imap.example.com:993' },
        { label: 'User', value: 'dmarc@example.com' },
        { label: 'Folder', value: 'Reports/DMARC' },
        { label: 'Failing since', value: '2026-02-01T00:00:00.000Z' },
        { label: 'Last error', value: 'imap.auth_failed', code: true },
      ],
    });
    expect(view.remediation).toBeUndefined();
  });

  it('should link to the mailbox settings in the dashboard', () => {
    expect(dashboardUrlFor(failing(), BASE)).toBe(`${BASE}/settings/report-mailboxes/${mbx}`);
    expect(dashboardUrlFor(recovered, `${BASE}/`)).toBe(`${BASE}/settings/report-mailboxes/${mbx}`);
  });

  it('should render in Slack and e-mail with the headline, escaped, and the link', () => {
    const slack = formatSlackMessage(failing(), { dashboardBaseUrl: BASE });
    expect(slack.text).toBe('Report mailbox failing: dmarc@example.com on imap.example.com');
    const blocks = JSON.stringify(slack.blocks);
    expect(blocks).toContain('AUTHENTICATIONFAILED &lt;bad&gt;');
    expect(blocks).toContain(`${BASE}/settings/report-mailboxes/${mbx}`);

    const mail = formatAlertEmail(failing(), { to: 'ops@example.com', dashboardBaseUrl: BASE });
    expect(mail.subject).toBe('[Mailwarden] Report mailbox failing: dmarc@example.com on imap.example.com');
    expect(mail.text).toContain('Error: imap.auth_failed');
    expect(mail.text).toContain('How to fix:');
    expect(mail.html).toContain('AUTHENTICATIONFAILED &lt;bad&gt;');
    expect(mail.html).toContain(`<a href="${BASE}/settings/report-mailboxes/${mbx}">`);

    const back = formatAlertEmail(recovered, { to: 'ops@example.com' });
    expect(back.subject).toBe('[Mailwarden] Report mailbox recovered: dmarc@example.com on imap.example.com');
  });
});
