/**
 * E-mail alerts (endpoint format `email`): one mail per event, or one daily digest of many, as a
 * text part and an HTML part that say the same thing.
 *
 * The mailer is pluggable. The existing `Mailer` lives in libs/auth, which alerts may not import
 * (DESIGN.md §1), and its message has no HTML part and a closed `kind` list; so a structural
 * `AlertMailer` is declared here. Any object with a matching `send` (an SMTP relay adapter, a
 * recording mailer in tests) fits. Moving one `Mailer` interface to libs/core with an optional
 * `html` and an open `kind` would let both libs share it.
 *
 * Safety: every value is escaped for HTML (`& < > " '`); the subject has control characters
 * removed (no header injection) and is bounded; evidence is bounded. Links only ever point at the
 * configured dashboard.
 */
import { type AlertEvent, truncateText } from '../events/alert-events.ts';
import { dashboardUrlFor } from '../events/dashboard-links.ts';
import { type EventView, severityLabel, viewEvent } from '../events/event-view.ts';

export interface AlertMailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  kind: 'alert' | 'alert_digest';
}

/** What the alert channel needs of a mailer; structurally compatible with an SMTP relay adapter. */
export interface AlertMailer {
  send(message: AlertMailMessage): Promise<void>;
}

export interface AlertEmailOptions {
  to: string;
  dashboardBaseUrl?: string;
  /** Shown in the subject tag and the footer. */
  productName?: string;
  /** Evidence kept in the mail. Default 4000 characters. */
  maxEvidenceChars?: number;
}

export const MAX_SUBJECT_CHARS = 200;
/** Items listed in one digest; the rest are counted and left to the dashboard. */
export const DEFAULT_DIGEST_MAX_ITEMS = 200;

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] as string);
}

/** One line, no control characters (CR/LF would start a new header), bounded. */
export function sanitizeSubject(subject: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  const oneLine = subject.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
  const line = oneLine.replace(/\s+/g, ' ').trim();
  return truncateText(line, MAX_SUBJECT_CHARS);
}

function checkRecipient(to: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point.
  if (/[\u0000-\u001f\u007f,;<>]/.test(to) || !/^[^@\s]+@[^@\s]+$/.test(to)) {
    throw new Error('alert e-mail recipient must be one plain address');
  }
  return to;
}

const STYLE = {
  body: 'font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1f2328;line-height:1.5',
  th: 'text-align:left;padding:2px 12px 2px 0;color:#59636e;font-weight:normal;vertical-align:top',
  pre: 'background:#f6f8fa;padding:8px;border-radius:4px;white-space:pre-wrap;word-break:break-all;font-size:12px',
  footer: 'color:#59636e;font-size:12px',
};

function factsText(view: EventView): string[] {
  return view.facts.map((f) => `${f.label}: ${f.value}`);
}

function factsHtml(view: EventView): string {
  if (view.facts.length === 0) return '';
  const rows = view.facts
    .map((f) => {
      const value = f.code ? `<code>${escapeHtml(f.value)}</code>` : escapeHtml(f.value);
      return `<tr><th style="${STYLE.th}">${escapeHtml(f.label)}</th><td>${value}</td></tr>`;
    })
    .join('');
  return `<table role="presentation" style="border-collapse:collapse">${rows}</table>`;
}

function page(title: string, inner: string, footer: string): string {
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title></head>`,
    `<body style="${STYLE.body}">`,
    inner,
    `<hr><p style="${STYLE.footer}">${escapeHtml(footer)}</p>`,
    '</body></html>',
  ].join('\n');
}

function footerText(product: string): string {
  return `You receive this because an e-mail alert channel of your ${product} account points here. Change or remove it in the alert settings.`;
}

/** One event as one mail. */
export function formatAlertEmail(event: AlertEvent, options: AlertEmailOptions): AlertMailMessage {
  const product = options.productName ?? 'Mailwarden';
  const view = viewEvent(event);
  const url = dashboardUrlFor(event, options.dashboardBaseUrl);
  const evidence = view.evidence ? truncateText(view.evidence, options.maxEvidenceChars ?? 4_000) : undefined;
  const footer = footerText(product);

  const text = [
    view.headline,
    '',
    ...factsText(view),
    ...view.paragraphs.flatMap((p) => ['', p]),
    ...(evidence ? ['', 'Evidence:', evidence] : []),
    ...(view.remediation ? ['', 'How to fix:', view.remediation] : []),
    ...(view.reference ? ['', `Reference: ${view.reference}`] : []),
    ...(url ? ['', `Open in ${product}: ${url}`] : []),
    '',
    '-- ',
    footer,
    '',
  ].join('\n');

  const inner = [
    `<h2>${escapeHtml(view.headline)}</h2>`,
    factsHtml(view),
    ...view.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(evidence ? [`<h3>Evidence</h3><pre style="${STYLE.pre}">${escapeHtml(evidence)}</pre>`] : []),
    ...(view.remediation ? [`<h3>How to fix</h3><p>${escapeHtml(view.remediation)}</p>`] : []),
    ...(view.reference ? [`<p>Reference: ${escapeHtml(view.reference)}</p>`] : []),
    ...(url ? [`<p><a href="${escapeHtml(url)}">Open in ${escapeHtml(product)}</a></p>`] : []),
  ].join('\n');

  return {
    to: checkRecipient(options.to),
    subject: sanitizeSubject(`[${product}] ${view.headline}`),
    text,
    html: page(view.headline, inner, footer),
    kind: 'alert',
  };
}

const RANK = ['critical', 'high', 'medium', 'low', 'info'];

function digestCounts(events: readonly AlertEvent[]): string {
  const opened = events.filter((e) => e.type === 'finding.opened').length;
  const resolved = events.filter((e) => e.type === 'finding.resolved').length;
  const other = events.length - opened - resolved;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts = [
    ...(opened ? [plural(opened, 'new finding')] : []),
    ...(resolved ? [`${resolved} resolved`] : []),
    ...(other ? [plural(other, opened || resolved ? 'other event' : 'event')] : []),
  ];
  return parts.join(', ');
}

/**
 * A digest of the events of one period (a day) for one recipient: grouped by domain, worst
 * first, at most `maxItems` listed. Returns null for no events (no empty digests are sent).
 */
export function formatDigestEmail(
  events: readonly AlertEvent[],
  options: AlertEmailOptions & { day: Date; maxItems?: number },
): AlertMailMessage | null {
  if (events.length === 0) return null;
  const product = options.productName ?? 'Mailwarden';
  const day = options.day.toISOString().slice(0, 10);
  const maxItems = options.maxItems ?? DEFAULT_DIGEST_MAX_ITEMS;
  const views = events
    .map((event) => ({ event, view: viewEvent(event) }))
    .sort(
      (a, b) =>
        (a.view.domain?.name ?? '').localeCompare(b.view.domain?.name ?? '') ||
        RANK.indexOf(a.view.severity) - RANK.indexOf(b.view.severity) ||
        a.event.timestamp.localeCompare(b.event.timestamp),
    );
  const shown = views.slice(0, maxItems);
  const omitted = views.length - shown.length;
  const groups = new Map<string, typeof shown>();
  for (const item of shown) {
    const key = item.view.domain?.name ?? 'Account';
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  const title = `Daily digest ${day}: ${digestCounts(events)}`;
  const footer = footerText(product);

  const textLines: string[] = [title, ''];
  const htmlParts: string[] = [`<h2>${escapeHtml(title)}</h2>`];
  for (const [name, items] of groups) {
    textLines.push(name, '-'.repeat(Math.min(name.length, 80)));
    htmlParts.push(`<h3>${escapeHtml(name)}</h3>`, '<ul>');
    for (const { event, view } of items) {
      const url = dashboardUrlFor(event, options.dashboardBaseUrl);
      const line = `[${severityLabel(view.severity)}] ${view.headline}`;
      const detail = view.paragraphs[0] ? truncateText(view.paragraphs[0], 300) : undefined;
      textLines.push(`* ${line}`, ...(detail ? [`  ${detail}`] : []), ...(url ? [`  ${url}`] : []));
      const link = url ? ` <a href="${escapeHtml(url)}">open</a>` : '';
      const note = detail ? `<br><span style="${STYLE.footer}">${escapeHtml(detail)}</span>` : '';
      htmlParts.push(`<li>${escapeHtml(line)}${link}${note}</li>`);
    }
    textLines.push('');
    htmlParts.push('</ul>');
  }
  if (omitted > 0) {
    const more = `…and ${omitted} more event${omitted === 1 ? '' : 's'}; see the dashboard for all of them.`;
    textLines.push(more, '');
    htmlParts.push(`<p>${escapeHtml(more)}</p>`);
  }
  textLines.push('-- ', footer, '');

  return {
    to: checkRecipient(options.to),
    subject: sanitizeSubject(`[${product}] ${title}`),
    text: textLines.join('\n'),
    html: page(title, htmlParts.join('\n'), footer),
    kind: 'alert_digest',
  };
}
