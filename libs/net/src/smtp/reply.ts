/**
 * SMTP replies (RFC 5321 §4.2): `xyz-text` continues a reply, `xyz text` (or a bare `xyz`) ends
 * it. Read through the bounded `LineReader`, with a cap on lines and bytes per reply so an
 * endless multi-line banner ends as `reply_too_large` instead of filling memory.
 */
import type { LineReader, ReadFailure } from './line-reader.ts';

export interface ReplyLimits {
  /** Lines in one reply; a long EHLO answer has 20. */
  maxReplyLines: number;
  /** Bytes in one reply, all lines together. */
  maxReplyBytes: number;
}

export interface SmtpReply {
  code: number;
  /** The text of each line after the code and separator. */
  lines: string[];
}

/** Why a dialogue stopped before it was done; the prober maps these to `untestable` reasons. */
export type DialogueFailureKind =
  | ReadFailure['kind']
  | 'tarpit'
  | 'protocol_error'
  | 'reply_too_large'
  | 'aborted';

export interface DialogueFailure {
  kind: DialogueFailureKind;
  detail: string;
  code?: string;
}

export type ReplyResult = { ok: true; reply: SmtpReply } | { ok: false; failure: DialogueFailure };

const REPLY_LINE = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s;
/** How much of an offending line is kept as evidence. */
const SAMPLE_CHARS = 80;

/** Printable sample of untrusted text for evidence and logs. */
export function sample(text: string, max = SAMPLE_CHARS): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we strip.
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export interface Deadlines {
  /** Absolute time (ms since epoch) the whole session must end by. */
  sessionEndsAt: number;
  /** How long one reply may take. */
  replyTimeoutMs: number;
}

/**
 * Waits for one complete reply. A reply that does not finish within `replyTimeoutMs` is a tarpit
 * (RFC 5321 §4.5.3.2 lets servers be slow, but a prober has to stop somewhere); running out of
 * the session budget first is `timeout`.
 */
export async function readReply(
  reader: LineReader,
  limits: ReplyLimits,
  deadlines: Deadlines,
): Promise<ReplyResult> {
  const replyEndsAt = Date.now() + deadlines.replyTimeoutMs;
  const lines: string[] = [];
  let bytes = 0;
  let code: number | undefined;
  for (;;) {
    const until = Math.min(replyEndsAt, deadlines.sessionEndsAt);
    const r = await reader.next(until - Date.now());
    if (!r.ok) {
      if (r.failure.kind !== 'timeout') return { ok: false, failure: r.failure };
      const sessionBound = deadlines.sessionEndsAt <= replyEndsAt;
      return {
        ok: false,
        failure: sessionBound
          ? { kind: 'timeout', detail: 'the session deadline passed while waiting for a reply' }
          : {
              kind: 'tarpit',
              detail: `no complete reply within ${deadlines.replyTimeoutMs} ms${lines.length > 0 ? ` (${lines.length} lines so far)` : ''}`,
            },
      };
    }
    const m = REPLY_LINE.exec(r.line);
    if (!m) {
      return {
        ok: false,
        failure: {
          kind: 'protocol_error',
          detail: `not an SMTP reply line: ${JSON.stringify(sample(r.line))}`,
        },
      };
    }
    // RFC 5321 §4.2.1 wants the same code on every line; the last line's code is the reply's.
    code = Number(m[1]);
    lines.push(m[3] ?? '');
    bytes += r.line.length;
    if (lines.length > limits.maxReplyLines || bytes > limits.maxReplyBytes) {
      return {
        ok: false,
        failure: {
          kind: 'reply_too_large',
          detail: `a reply of more than ${limits.maxReplyLines} lines or ${limits.maxReplyBytes} bytes`,
        },
      };
    }
    if (m[2] !== '-') return { ok: true, reply: { code, lines } };
  }
}

/**
 * EHLO keywords (RFC 5321 §4.1.1.1): the first reply line is the greeting, each further line a
 * keyword with parameters. Keywords are upper-cased; `AUTH=LOGIN` (a pre-standard spelling some
 * servers still send) counts as `AUTH LOGIN`.
 */
export function ehloKeywords(reply: SmtpReply): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of reply.lines.slice(1)) {
    const [first = '', ...params] = line.trim().split(/\s+/);
    const eq = first.indexOf('=');
    const keyword = (eq > 0 ? first.slice(0, eq) : first).toUpperCase();
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(keyword)) continue;
    const values = eq > 0 ? [first.slice(eq + 1), ...params] : params;
    const previous = out[keyword] ?? [];
    out[keyword] = [...previous, ...values.map((v) => v.toUpperCase())].slice(0, 32);
  }
  return out;
}
