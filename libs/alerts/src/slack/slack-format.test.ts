import { uuidv7 } from '@mailwarden/core';
import { describe, expect, it } from 'vitest';
import { type AlertEvent, createAlertEvent } from '../events/alert-events.ts';
import { severityLabel } from '../events/event-view.ts';
import {
  clampBlocks,
  escapeSlack,
  escapeSlackBounded,
  formatSlackDigest,
  formatSlackMessage,
  SLACK_BUTTON_TEXT_MAX_CHARS,
  SLACK_CONTEXT_MAX_ELEMENTS,
  SLACK_FALLBACK_TEXT_MAX_CHARS,
  SLACK_FIELD_MAX_CHARS,
  SLACK_HEADER_MAX_CHARS,
  SLACK_MAX_BLOCKS,
  SLACK_MAX_FIELDS,
  SLACK_SECTION_TEXT_MAX_CHARS,
  SLACK_URL_MAX_CHARS,
  type SlackBlock,
  type SlackMessage,
} from './slack-format.ts';

const at = new Date('2026-02-03T04:05:06.789Z');
const domain = { id: uuidv7(), name: 'example.com' };
const BASE = 'https://app.mailwarden.test';

function findingEvent(overrides: Record<string, unknown> = {}) {
  return createAlertEvent(
    'finding.opened',
    {
      domain,
      finding: {
        id: uuidv7(),
        code: 'spf.too_many_lookups',
        subject: 'example.com',
        message: 'SPF needs 14 DNS lookups; RFC 7208 allows 10.',
        evidence: { record: 'v=spf1 include:a include:b -all', lookups: 14 },
        firstSeenAt: at,
        lastSeenAt: at,
        ...overrides,
      },
    },
    at,
  );
}

/** A mrkdwn text with its entities and our own `<url|label>` links removed must hold no & < >. */
function assertEscaped(text: string): void {
  const stripped = text.replace(/&(amp|lt|gt);/g, '').replace(/<https:\/\/[^<>|\s]+\|[a-z]+>/g, '');
  expect(stripped).not.toMatch(/[&<>]/);
}

function mrkdwnTexts(block: SlackBlock): string[] {
  switch (block.type) {
    case 'section':
      return 'fields' in block ? block.fields.map((f) => f.text) : [block.text.text];
    case 'context':
      return block.elements.map((e) => e.text);
    default:
      return [];
  }
}

/** Every limit from Slack's Block Kit reference that these messages can reach. */
function assertWithinSlackLimits(message: SlackMessage): void {
  expect(message.text.length).toBeGreaterThan(0);
  expect(message.text.length).toBeLessThanOrEqual(SLACK_FALLBACK_TEXT_MAX_CHARS);
  assertEscaped(message.text);
  expect(message.blocks.length).toBeLessThanOrEqual(SLACK_MAX_BLOCKS);
  for (const block of message.blocks) {
    if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(SLACK_HEADER_MAX_CHARS);
    if (block.type === 'section' && 'text' in block) {
      expect(block.text.text.length).toBeLessThanOrEqual(SLACK_SECTION_TEXT_MAX_CHARS);
    }
    if (block.type === 'section' && 'fields' in block) {
      expect(block.fields.length).toBeLessThanOrEqual(SLACK_MAX_FIELDS);
      for (const f of block.fields) expect(f.text.length).toBeLessThanOrEqual(SLACK_FIELD_MAX_CHARS);
    }
    if (block.type === 'context')
      expect(block.elements.length).toBeLessThanOrEqual(SLACK_CONTEXT_MAX_ELEMENTS);
    if (block.type === 'actions') {
      for (const b of block.elements) {
        expect(b.text.text.length).toBeLessThanOrEqual(SLACK_BUTTON_TEXT_MAX_CHARS);
        expect(b.url.length).toBeLessThanOrEqual(SLACK_URL_MAX_CHARS);
      }
    }
    for (const t of mrkdwnTexts(block)) assertEscaped(t);
  }
  // A Slack message is JSON; it must survive a round trip unchanged.
  expect(JSON.parse(JSON.stringify(message))).toEqual(message);
}

describe('escapeSlack', () => {
  it('should escape exactly &, < and >', () => {
    expect(escapeSlack('<!channel> & <https://evil.test|click> "q" \'a\' *b*')).toBe(
      '&lt;!channel&gt; &amp; &lt;https://evil.test|click&gt; "q" \'a\' *b*',
    );
  });

  it('should cut without splitting an entity or a surrogate pair, within the limit', () => {
    const samples = ['&'.repeat(2_000), '<>'.repeat(900), 'a&😀<b'.repeat(400), '😀'.repeat(3_000)];
    for (const raw of samples) {
      for (const max of [1, 2, 5, 6, 7, 100, 2_999, 3_000]) {
        const out = escapeSlackBounded(raw, max);
        expect(out.length).toBeLessThanOrEqual(max);
        expect(out.endsWith('…')).toBe(true);
        const body = out.slice(0, -1);
        // Every & starts a whole entity; no lone surrogate anywhere.
        expect(body.replace(/&(amp|lt|gt);/g, '')).not.toMatch(/[&<>]/);
        expect(body).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
      }
    }
    expect(escapeSlackBounded('a&b', 7)).toBe('a&amp;b');
    expect(escapeSlackBounded('a&b', 6)).toBe('a…');
  });
});

describe('formatSlackMessage', () => {
  it('should show severity, domain, finding, evidence, remediation and a dashboard link', () => {
    const event = findingEvent();
    const message = formatSlackMessage(event, { dashboardBaseUrl: `${BASE}/` });
    assertWithinSlackLimits(message);
    const [head, fields] = message.blocks;
    expect(head).toMatchObject({ type: 'header', text: { type: 'plain_text', emoji: true } });
    expect(head?.type === 'header' && head.text.text).toMatch(/^:[a-z_]+: (High|Medium|Low|Critical|Info): /);
    const fieldText = fields && 'fields' in fields ? fields.fields.map((f) => f.text).join('\n') : '';
    expect(fieldText).toContain('*Domain*\nexample.com');
    expect(fieldText).toContain('`spf.too_many_lookups`');
    const all = JSON.stringify(message.blocks);
    expect(all).toContain('*Evidence*\\n```\\n');
    expect(all).toContain('*How to fix*');
    const actions = message.blocks.find((b) => b.type === 'actions');
    expect(actions).toMatchObject({
      elements: [
        {
          type: 'button',
          url: `${BASE}/domains/${event.data.domain.id}/findings/${event.data.finding.id}`,
        },
      ],
    });
    expect(message.text).toBe(
      escapeSlack(
        `${severityLabel(event.data.finding.severity)}: ${event.data.finding.title} on example.com`,
      ),
    );
  });

  it('should stay within every limit with huge evidence, title, subject and remediation', () => {
    const huge = `<!channel> & ${'x'.repeat(200_000)} \`\`\` ${'&'.repeat(50_000)}`;
    const event = findingEvent({
      title: `T&<>${'t'.repeat(10_000)}`,
      subject: `s<${'s'.repeat(10_000)}`,
      remediation: `r&${'r'.repeat(10_000)}`,
    });
    // Bypass the builder's bound, as a formatter must not rely on it.
    (event.data.finding as { evidence: Record<string, unknown> }).evidence = { record: huge };
    (event.data.finding as { message: string }).message = `m>${'m'.repeat(100_000)}`;
    const message = formatSlackMessage(event, { dashboardBaseUrl: BASE, maxEvidenceChars: 1_000_000 });
    assertWithinSlackLimits(message);
    const evidence = message.blocks.find(
      (b) => b.type === 'section' && 'text' in b && b.text.text.startsWith('*Evidence*'),
    );
    const text = evidence && 'text' in evidence ? evidence.text.text : '';
    expect(text.length).toBeLessThanOrEqual(SLACK_SECTION_TEXT_MAX_CHARS);
    expect(text.endsWith('…\n```')).toBe(true);
    // The code block cannot be closed early by backticks from the evidence.
    expect(text.slice(3 + text.indexOf('```'), -3)).not.toContain('```');
    expect(text).toContain('&lt;!channel&gt; &amp;');
  });

  it('should leave the button out without a dashboard URL, and for a non-http base', () => {
    expect(formatSlackMessage(findingEvent()).blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(
      formatSlackMessage(findingEvent(), { dashboardBaseUrl: 'javascript:alert(1)' }).blocks.some(
        (b) => b.type === 'actions',
      ),
    ).toBe(false);
  });

  it('should format every event type within the limits', () => {
    const endpoint = {
      id: uuidv7(),
      displayTarget: 'https://hooks.slack.com/services/T/B/secret',
      format: 'slack' as const,
    };
    const events: AlertEvent[] = [
      findingEvent(),
      createAlertEvent(
        'finding.resolved',
        { domain, finding: { ...findingEvent().data.finding, id: uuidv7(), resolvedAt: at } },
        at,
      ),
      createAlertEvent(
        'posture.degraded',
        {
          domain,
          previous: { score: 91, grade: 'A', partial: false },
          current: { score: 40, grade: 'D', partial: true },
        },
        at,
      ),
      createAlertEvent(
        'posture.improved',
        {
          domain,
          previous: { score: 40, grade: 'D', partial: false },
          current: { score: 91, grade: 'A', partial: false },
        },
        at,
      ),
      createAlertEvent('domain.verified', { domain, verifiedAt: at }, at),
      createAlertEvent(
        'check.untestable',
        {
          domain,
          check: 'dns',
          reason: 'servfail',
          detail: 'SERVFAIL from 2 servers',
          consecutiveRuns: 2,
          since: at,
        },
        at,
      ),
      createAlertEvent('webhook.test', { endpoint, message: 'Hello <world>' }, at),
      createAlertEvent(
        'endpoint.disabled',
        { endpoint, reason: 'gone', failingSince: at, lastStatusCode: 410, lastError: 'gone' },
        at,
      ),
      createAlertEvent(
        'dmarc.unknown_source',
        {
          domain,
          severity: 'medium',
          summary: '203.0.113.7 sent 1204 messages & failed',
          report: { reporter: 'google.com', reportId: '1', periodStart: at, periodEnd: at },
          details: {
            sources: Array.from({ length: 2_000 }, (_, i) => ({ ip: `203.0.113.${i % 256}`, count: i })),
          },
        },
        at,
      ),
      createAlertEvent(
        'tls_rpt.failures',
        { domain, severity: 'high', summary: '12 failed', report: null, details: {} },
        at,
      ),
      createAlertEvent(
        'report_mailbox.failing',
        {
          mailbox: { id: uuidv7(), host: 'imap.example.com', port: 993, username: 'rua', folder: 'INBOX' },
          lastError: { code: 'imap.auth_failed', detail: `<${'d'.repeat(10_000)}>` },
          consecutiveFailures: 5,
          lastSuccessAt: at,
        },
        at,
      ),
      createAlertEvent(
        'report_mailbox.recovered',
        {
          mailbox: { id: uuidv7(), host: 'imap.example.com', port: 993, username: 'rua', folder: 'INBOX' },
          lastError: null,
          consecutiveFailures: 0,
          failingSince: at,
        },
        at,
      ),
    ];
    for (const event of events) {
      const message = formatSlackMessage(event, { dashboardBaseUrl: BASE });
      assertWithinSlackLimits(message);
      // Slack URLs carry their token in the path; it never shows up in a message.
      expect(JSON.stringify(message)).not.toContain('secret');
    }
    expect(formatSlackMessage(events[2] as AlertEvent).text).toBe('Posture degraded on example.com: A → D');
    expect(
      formatSlackMessage(events[6] as AlertEvent)
        .blocks.flatMap(mrkdwnTexts)
        .join(' '),
    ).toContain('Hello &lt;world&gt;');
  });
});

describe('block limit', () => {
  it('should clamp to 50 blocks and say how many were left out', () => {
    const blocks: SlackBlock[] = Array.from({ length: 80 }, () => ({ type: 'divider' }));
    const clamped = clampBlocks(blocks);
    expect(clamped).toHaveLength(SLACK_MAX_BLOCKS);
    expect(clamped.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: "31 more blocks left out (Slack's limit)" }],
    });
    expect(clampBlocks(blocks.slice(0, 50))).toHaveLength(50);
  });

  it('should fit a digest of 300 events into 50 blocks, worst first', () => {
    const events = Array.from({ length: 300 }, (_, i) =>
      i === 299
        ? findingEvent({ code: 'x.y', severity: 'critical', title: 'Worst & <last>' })
        : findingEvent({ code: 'x.y', severity: 'low' }),
    );
    const message = formatSlackDigest(events, { dashboardBaseUrl: BASE });
    assertWithinSlackLimits(message);
    expect(message.blocks).toHaveLength(SLACK_MAX_BLOCKS);
    expect(JSON.stringify(message.blocks[1])).toContain('Critical');
    expect(JSON.stringify(message.blocks[1])).toContain('Worst &amp; &lt;last&gt;');
    expect(message.blocks.at(-1)).toMatchObject({ type: 'context', elements: [{ text: '…and 252 more' }] });
  });
});
