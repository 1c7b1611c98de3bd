/**
 * Slack Block Kit messages for incoming webhooks (endpoint format `slack`).
 *
 * Limits (Slack's Block Kit reference): at most 50 blocks per message; a header's plain_text at
 * most 150 characters; a section's text at most 3000; a section field at most 2000 and at most
 * 10 fields; a context block at most 10 elements; a button's text at most 75 and its url at most
 * 3000. Every text is cut to its limit here, after escaping, so Slack never rejects a message for
 * size (an incoming webhook answers 400 `invalid_blocks` and the alert would be lost).
 *
 * Escaping (Slack "Formatting text for app surfaces"): in mrkdwn only `&`, `<` and `>` are
 * control characters and are sent as `&amp;`, `&lt;`, `&gt;`. Without it a DNS record such as
 * `<!channel>` or `<https://evil|click>` in evidence would become a mention or a disguised link.
 * plain_text (the header) is not parsed, so it is sent as is. Cutting never splits an entity or
 * a surrogate pair.
 *
 * Every message has a top-level `text`: the notification and screen-reader fallback.
 */
import { type AlertEvent, truncateText } from '../events/alert-events.ts';
import { dashboardUrlFor } from '../events/dashboard-links.ts';
import { type EventView, severityLabel, viewEvent } from '../events/event-view.ts';

export const SLACK_MAX_BLOCKS = 50;
export const SLACK_HEADER_MAX_CHARS = 150;
export const SLACK_SECTION_TEXT_MAX_CHARS = 3_000;
export const SLACK_FIELD_MAX_CHARS = 2_000;
export const SLACK_MAX_FIELDS = 10;
export const SLACK_CONTEXT_MAX_ELEMENTS = 10;
export const SLACK_BUTTON_TEXT_MAX_CHARS = 75;
export const SLACK_URL_MAX_CHARS = 3_000;
/** Slack accepts far more in `text`, but it is shown whole in notifications; keep it short. */
export const SLACK_FALLBACK_TEXT_MAX_CHARS = 3_000;

export interface SlackPlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface SlackMrkdwn {
  type: 'mrkdwn';
  text: string;
}
export interface SlackButton {
  type: 'button';
  text: SlackPlainText;
  url: string;
  action_id: string;
}
export type SlackBlock =
  | { type: 'header'; text: SlackPlainText }
  | { type: 'section'; text: SlackMrkdwn }
  | { type: 'section'; fields: SlackMrkdwn[] }
  | { type: 'context'; elements: SlackMrkdwn[] }
  | { type: 'actions'; elements: SlackButton[] }
  | { type: 'divider' };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

export interface SlackFormatOptions {
  /** Public URL of the dashboard; without it no button is added. */
  dashboardBaseUrl?: string;
  /** Evidence shown in the message, before escaping; the rest is cut. Default 1500 characters. */
  maxEvidenceChars?: number;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Slack mrkdwn escaping of the three control characters. */
export function escapeSlack(text: string): string {
  return text.replace(/[&<>]/g, (ch) => ESCAPES[ch] as string);
}

/**
 * Escapes `raw` and cuts the result to `maxChars` (an ellipsis included) without splitting an
 * escape entity or a surrogate pair. Only walks as much of `raw` as can fit.
 */
export function escapeSlackBounded(raw: string, maxChars: number): string {
  if (raw.length * 5 <= maxChars) return escapeSlack(raw);
  let out = '';
  let cut = 0;
  for (const ch of raw) {
    const piece = ESCAPES[ch] ?? ch;
    if (out.length + piece.length > maxChars) return `${out.slice(0, cut)}…`;
    out += piece;
    if (out.length <= maxChars - 1) cut = out.length;
  }
  return out;
}

/** Code spans and blocks cannot hold a triple backtick; a look-alike keeps the text readable. */
const defang = (text: string) => text.replace(/`{3,}/g, (m) => 'ˋ'.repeat(m.length));

const mrkdwn = (text: string): SlackMrkdwn => ({ type: 'mrkdwn', text });

/** A section whose text is `prefix` + escaped(`raw`) + `suffix`, within the section limit. */
function section(raw: string, prefix = '', suffix = '', maxChars = SLACK_SECTION_TEXT_MAX_CHARS): SlackBlock {
  const room = Math.max(1, maxChars - prefix.length - suffix.length);
  return { type: 'section', text: mrkdwn(prefix + escapeSlackBounded(raw, room) + suffix) };
}

function header(view: EventView): SlackBlock {
  return {
    type: 'header',
    text: {
      type: 'plain_text',
      text: truncateText(`${view.icon} ${view.headline}`, SLACK_HEADER_MAX_CHARS),
      emoji: true,
    },
  };
}

function factFields(view: EventView): SlackBlock[] {
  if (view.facts.length === 0) return [];
  const fields = view.facts.slice(0, SLACK_MAX_FIELDS).map((fact) => {
    const label = `*${escapeSlack(fact.label)}*\n`;
    const room = SLACK_FIELD_MAX_CHARS - label.length;
    if (!fact.code) return mrkdwn(label + escapeSlackBounded(fact.value, room));
    // Cut inside the code span so its closing backtick survives; no backtick may end it early.
    return mrkdwn(`${label}\`${escapeSlackBounded(fact.value.replace(/`/g, 'ˋ'), room - 2)}\``);
  });
  return [{ type: 'section', fields }];
}

function evidenceBlock(evidence: string, maxEvidenceChars: number): SlackBlock {
  const shown = truncateText(defang(evidence), maxEvidenceChars);
  return section(shown, '*Evidence*\n```\n', '\n```');
}

function contextLine(view: EventView): SlackBlock {
  const parts = [`Mailwarden · \`${view.type}\` · ${view.timestamp}`];
  if (view.reference) parts.push(`Reference: ${escapeSlackBounded(view.reference, 200)}`);
  return { type: 'context', elements: parts.slice(0, SLACK_CONTEXT_MAX_ELEMENTS).map(mrkdwn) };
}

function button(url: string | undefined): SlackBlock[] {
  if (!url || url.length > SLACK_URL_MAX_CHARS) return [];
  return [
    {
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open in Mailwarden', emoji: false },
          url,
          action_id: 'open_dashboard',
        },
      ],
    },
  ];
}

/**
 * Keeps a message within 50 blocks: the overflow is replaced by one context block saying how
 * many were left out.
 */
export function clampBlocks(blocks: SlackBlock[]): SlackBlock[] {
  if (blocks.length <= SLACK_MAX_BLOCKS) return blocks;
  const kept = blocks.slice(0, SLACK_MAX_BLOCKS - 1);
  const omitted = blocks.length - kept.length;
  return [
    ...kept,
    { type: 'context', elements: [mrkdwn(`${omitted} more blocks left out (Slack's limit)`)] },
  ];
}

function fallbackText(headline: string): string {
  return escapeSlackBounded(headline, SLACK_FALLBACK_TEXT_MAX_CHARS);
}

/** One event as a Slack message. */
export function formatSlackMessage(event: AlertEvent, options: SlackFormatOptions = {}): SlackMessage {
  const view = viewEvent(event);
  const maxEvidence = options.maxEvidenceChars ?? 1_500;
  const blocks: SlackBlock[] = [
    header(view),
    ...factFields(view),
    ...view.paragraphs.filter((p) => p.trim() !== '').map((p) => section(p)),
    ...(view.evidence ? [evidenceBlock(view.evidence, maxEvidence)] : []),
    ...(view.remediation ? [section(view.remediation, '*How to fix*\n')] : []),
    ...button(dashboardUrlFor(event, options.dashboardBaseUrl)),
    contextLine(view),
  ];
  return { text: fallbackText(view.headline), blocks: clampBlocks(blocks) };
}

/**
 * Many events in one message (a digest, or a burst collapsed by the caller): a header, one line
 * per event, worst first, within the block limit.
 */
export function formatSlackDigest(
  events: readonly AlertEvent[],
  options: SlackFormatOptions & { title?: string } = {},
): SlackMessage {
  const views = events.map((event) => ({ event, view: viewEvent(event) }));
  const rank = ['critical', 'high', 'medium', 'low', 'info'];
  views.sort((a, b) => rank.indexOf(a.view.severity) - rank.indexOf(b.view.severity));
  const title = options.title ?? `Mailwarden: ${events.length} event${events.length === 1 ? '' : 's'}`;
  // Header, one line per event, and room for the "n more" line.
  const room = SLACK_MAX_BLOCKS - 2;
  const shown = views.slice(0, room);
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: truncateText(title, SLACK_HEADER_MAX_CHARS), emoji: true },
    },
    ...shown.map(({ event, view }) => {
      const url = dashboardUrlFor(event, options.dashboardBaseUrl);
      const line = `${view.icon} ${severityLabel(view.severity)} · `;
      // A link's URL is ours (typed ids, checked base), but is still escaped per Slack's rules.
      const suffix = url && url.length < 1_000 ? ` <${escapeSlack(url)}|open>` : '';
      return section(view.headline, line, suffix);
    }),
  ];
  if (views.length > shown.length) {
    blocks.push({ type: 'context', elements: [mrkdwn(`…and ${views.length - shown.length} more`)] });
  }
  return { text: fallbackText(title), blocks: clampBlocks(blocks) };
}
