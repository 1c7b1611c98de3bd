/**
 * The other mail ports of an MX host, probed only when a domain opts in: submission (587, RFC 6409)
 * and submissions (465, RFC 8314), IMAP (143) and IMAPS (993), POP3 (110) and POP3S (995). For each:
 * does something listen, does a plaintext service offer STARTTLS (RFC 3207, RFC 2595 §3.1 for IMAP,
 * §4 STLS for POP3), and what certificate does TLS show. Nobody logs in; only CAPABILITY/CAPA,
 * EHLO and the TLS upgrade are sent, then LOGOUT/QUIT.
 */
import type tls from 'node:tls';
import { type Conversation, openConversation, type Untestable, untestableOf } from './conversation.ts';
import { ehloKeywords } from './reply.ts';
import type { SessionSpec } from './smtp-session.ts';
import { observeTls } from './tls-handshake.ts';
import type { MailService, ServiceProbe, ServiceTarget } from './types.ts';

/** The standard ports (RFC 6409, RFC 8314 §7.3, RFC 3501, RFC 1939, RFC 8314 §7.1-7.2). */
export const DEFAULT_MAIL_SERVICES: readonly ServiceTarget[] = [
  { service: 'submission', port: 587 },
  { service: 'submissions', port: 465 },
  { service: 'imap', port: 143 },
  { service: 'imaps', port: 993 },
  { service: 'pop3', port: 110 },
  { service: 'pop3s', port: 995 },
];

const IMPLICIT: Record<MailService, boolean> = {
  submission: false,
  submissions: true,
  imap: false,
  imaps: true,
  pop3: false,
  pop3s: true,
};

type Protocol = 'smtp' | 'imap' | 'pop3';
const PROTOCOL: Record<MailService, Protocol> = {
  submission: 'smtp',
  submissions: 'smtp',
  imap: 'imap',
  imaps: 'imap',
  pop3: 'pop3',
  pop3s: 'pop3',
};

type Greeting = { ok: true; text: string } | { ok: false; untestable: Untestable };

async function readGreeting(c: Conversation, protocol: Protocol): Promise<Greeting> {
  if (protocol === 'smtp') {
    const r = await c.reply();
    if (!r.ok) return { ok: false, untestable: untestableOf(r.failure, 'banner') };
    if (r.reply.code !== 220) {
      const reason = r.reply.code === 421 ? 'service_unavailable' : 'service_rejected';
      return { ok: false, untestable: { reason, stage: 'banner', detail: `greeting ${r.reply.code}` } };
    }
    return { ok: true, text: `${r.reply.code} ${r.reply.lines[0] ?? ''}` };
  }
  const line = await c.line();
  if (!line.ok) return { ok: false, untestable: untestableOf(line.failure, 'banner') };
  const good = protocol === 'imap' ? /^\* (OK|PREAUTH)\b/i : /^\+OK\b/;
  if (!good.test(line.line)) {
    return {
      ok: false,
      untestable: { reason: 'protocol_error', stage: 'banner', detail: `greeting ${line.line.slice(0, 80)}` },
    };
  }
  return { ok: true, text: line.line.slice(0, 512) };
}

/** IMAP: lines until the tagged completion (RFC 3501 §7.1); returns untagged lines and the status. */
async function imapCommand(
  c: Conversation,
  tag: string,
  command: string,
): Promise<{ ok: true; untagged: string[]; status: string } | { ok: false; untestable: Untestable }> {
  c.send(`${tag} ${command}`);
  const untagged: string[] = [];
  for (let i = 0; i <= c.limits.maxReplyLines; i++) {
    const r = await c.line();
    if (!r.ok) return { ok: false, untestable: untestableOf(r.failure, 'starttls') };
    if (r.line.startsWith(`${tag} `)) {
      return {
        ok: true,
        untagged,
        status:
          r.line
            .slice(tag.length + 1)
            .split(' ')[0]
            ?.toUpperCase() ?? '',
      };
    }
    untagged.push(r.line);
  }
  return {
    ok: false,
    untestable: { reason: 'reply_too_large', stage: 'starttls', detail: 'endless response' },
  };
}

/** POP3 CAPA (RFC 2449 §5): `+OK`, capability lines, then a line with a single dot. */
async function pop3Capa(
  c: Conversation,
): Promise<{ ok: true; caps: string[] } | { ok: false; untestable: Untestable }> {
  c.send('CAPA');
  const first = await c.line();
  if (!first.ok) return { ok: false, untestable: untestableOf(first.failure, 'starttls') };
  if (!first.line.startsWith('+OK')) return { ok: true, caps: [] };
  const caps: string[] = [];
  for (let i = 0; i <= c.limits.maxReplyLines; i++) {
    const r = await c.line();
    if (!r.ok) return { ok: false, untestable: untestableOf(r.failure, 'starttls') };
    if (r.line === '.') return { ok: true, caps };
    caps.push(r.line.toUpperCase());
  }
  return { ok: false, untestable: { reason: 'reply_too_large', stage: 'starttls', detail: 'endless CAPA' } };
}

type Offer =
  | { ok: true; offered: boolean; upgrade?: () => Promise<boolean> }
  | { ok: false; untestable: Untestable };

/** Asks whether STARTTLS/STLS is offered and, when it is, issues it and says whether it was accepted. */
async function offerOf(c: Conversation, protocol: Protocol, ehloName: string): Promise<Offer> {
  if (protocol === 'smtp') {
    const ehlo = await c.command(`EHLO ${ehloName}`);
    if (!ehlo.ok) return { ok: false, untestable: untestableOf(ehlo.failure, 'ehlo') };
    const offered = ehlo.reply.code === 250 && ehloKeywords(ehlo.reply).STARTTLS !== undefined;
    return {
      ok: true,
      offered,
      upgrade: async () => {
        const r = await c.command('STARTTLS');
        return r.ok && r.reply.code === 220;
      },
    };
  }
  if (protocol === 'imap') {
    const caps = await imapCommand(c, 'a1', 'CAPABILITY');
    if (!caps.ok) return caps;
    const offered = caps.untagged.some((l) => /^\* CAPABILITY\b.*\bSTARTTLS\b/i.test(l));
    return {
      ok: true,
      offered,
      upgrade: async () => {
        const r = await imapCommand(c, 'a2', 'STARTTLS');
        return r.ok && r.status === 'OK';
      },
    };
  }
  const capa = await pop3Capa(c);
  if (!capa.ok) return capa;
  return {
    ok: true,
    offered: capa.caps.includes('STLS'),
    upgrade: async () => {
      c.send('STLS');
      const r = await c.line();
      return r.ok && r.line.startsWith('+OK');
    },
  };
}

function goodbye(c: Conversation, protocol: Protocol): Promise<void> {
  if (protocol === 'imap') {
    c.send('a9 LOGOUT');
    return c.reader.next(Math.min(1000, c.remainingMs())).then(() => c.close());
  }
  return c.quit();
}

export async function probeService(
  spec: SessionSpec,
  target: ServiceTarget,
  ctx: tls.SecureContext,
): Promise<ServiceProbe> {
  const implicit = IMPLICIT[target.service];
  const protocol = PROTOCOL[target.service];
  const out: ServiceProbe = {
    address: spec.address,
    port: target.port,
    service: target.service,
    transport: implicit ? 'implicit' : 'starttls',
    outcome: 'tested',
  };
  const opened = await openConversation({
    address: spec.address,
    port: target.port,
    allow: spec.allow,
    connectTimeoutMs: spec.connectTimeoutMs,
    deadlines: { sessionEndsAt: spec.sessionEndsAt, replyTimeoutMs: spec.replyTimeoutMs },
    limits: spec.limits,
    ...(spec.signal ? { signal: spec.signal } : {}),
  });
  if (!opened.ok) {
    if (opened.refused) return { ...out, outcome: 'refused' };
    if (opened.closed) return { ...out, outcome: 'closed' };
    return { ...out, outcome: 'untestable', ...(opened.untestable ? { untestable: opened.untestable } : {}) };
  }
  const c = opened.conversation;
  const stop = (u: Untestable): ServiceProbe => ({ ...out, outcome: 'untestable', untestable: u });
  try {
    if (implicit) {
      const { result } = await c.upgrade(spec.host, ctx);
      if (!result.ok) {
        if (result.kind === 'tls_alert' || result.kind === 'client_unsupported') {
          return {
            ...out,
            starttls: {
              offered: true,
              outcome: 'handshake_failed',
              error: { code: result.code, detail: result.detail },
            },
          };
        }
        return stop({
          reason: result.kind === 'timeout' ? 'timeout' : 'connection_reset',
          stage: 'tls_handshake',
          detail: result.detail,
        });
      }
      out.tls = observeTls(result.socket, spec.host, result.handshakeMs);
      const greeting = await readGreeting(c, protocol);
      if (greeting.ok) out.greeting = greeting.text;
      await goodbye(c, protocol);
      return out;
    }
    const greeting = await readGreeting(c, protocol);
    if (!greeting.ok) return stop(greeting.untestable);
    out.greeting = greeting.text;
    const offer = await offerOf(c, protocol, spec.ehloName);
    if (!offer.ok) return stop(offer.untestable);
    if (!offer.offered || !offer.upgrade) {
      out.starttls = { offered: false, outcome: 'not_offered' };
      await goodbye(c, protocol);
      return out;
    }
    if (!(await offer.upgrade())) {
      out.starttls = { offered: true, outcome: 'refused' };
      await goodbye(c, protocol);
      return out;
    }
    const { result, discardedPlaintextBytes } = await c.upgrade(spec.host, ctx);
    const extra = discardedPlaintextBytes > 0 ? { discardedPlaintextBytes } : {};
    if (!result.ok) {
      if (result.kind === 'tls_alert' || result.kind === 'client_unsupported') {
        out.starttls = {
          offered: true,
          outcome: 'handshake_failed',
          error: { code: result.code, detail: result.detail },
          ...extra,
        };
        return out;
      }
      return stop({
        reason: result.kind === 'timeout' ? 'timeout' : 'connection_reset',
        stage: 'tls_handshake',
        detail: result.detail,
      });
    }
    out.starttls = { offered: true, outcome: 'ok', ...extra };
    out.tls = observeTls(result.socket, spec.host, result.handshakeMs);
    await goodbye(c, protocol);
    return out;
  } finally {
    c.close();
  }
}
