/**
 * The SMTP dialogues of the MX probe.
 *
 * `fullSession`: banner, EHLO (HELO when EHLO is refused), STARTTLS and the TLS handshake with
 * SNI = the MX name, EHLO again over TLS (RFC 3207 §4.2: what was learnt before TLS is discarded)
 * when more commands follow, then VRFY/EXPN of `postmaster` and, only when asked, the relay test —
 * MAIL FROM and RCPT TO an `example.invalid` address, then RSET: never DATA. QUIT ends every
 * session.
 *
 * VRFY and EXPN are sent with the argument `postmaster` only: RFC 5321 §4.5.1 requires every
 * server to have that mailbox, so a 250 reveals that the command discloses mailboxes without the
 * probe ever naming a real user. They run after TLS (or in plaintext when there is none) and last
 * before the relay test, so a server that hangs up on them has already shown its TLS.
 *
 * `handshakeSession`: banner, EHLO, STARTTLS and one handshake with a given client profile, for
 * the per-version and per-cipher probes (each its own connection, as a real client would be).
 */
import type tls from 'node:tls';
import type { AllowList } from '../ssrf/cidr.ts';
import {
  type Conversation,
  observed,
  openConversation,
  type ProbeLimits,
  type Untestable,
  untestableOf,
} from './conversation.ts';
import { ehloKeywords, type ReplyResult, type SmtpReply } from './reply.ts';
import { observeTls } from './tls-handshake.ts';
import type { MxAddressProbe, ProbeStage, RelayObservation } from './types.ts';

export interface SessionSpec {
  /** MX host name: SNI and the name the certificate is judged against. */
  host: string;
  address: string;
  family: 4 | 6;
  port: number;
  allow: AllowList;
  ehloName: string;
  limits: ProbeLimits;
  connectTimeoutMs: number;
  replyTimeoutMs: number;
  sessionEndsAt: number;
  signal?: AbortSignal;
}

export interface RelayTest {
  sender: string;
  recipient: string;
}

type Step<T> = { ok: true; value: T } | { ok: false; untestable: Untestable };

/** A reply, or the reason the server cannot be tested (no reply, or 421 at any stage). */
function expectReply(r: ReplyResult, stage: ProbeStage): Step<SmtpReply> {
  if (!r.ok) return { ok: false, untestable: untestableOf(r.failure, stage) };
  if (r.reply.code === 421) {
    return {
      ok: false,
      untestable: {
        reason: 'service_unavailable',
        stage,
        detail: `421 ${r.reply.lines.join(' ').slice(0, 200)}`,
      },
    };
  }
  return { ok: true, value: r.reply };
}

async function open(spec: SessionSpec) {
  return openConversation({
    address: spec.address,
    port: spec.port,
    allow: spec.allow,
    connectTimeoutMs: spec.connectTimeoutMs,
    deadlines: { sessionEndsAt: spec.sessionEndsAt, replyTimeoutMs: spec.replyTimeoutMs },
    limits: spec.limits,
    ...(spec.signal ? { signal: spec.signal } : {}),
  });
}

/** Reads the greeting; anything but 220 ends the session. */
async function greeting(c: Conversation): Promise<Step<SmtpReply>> {
  const banner = expectReply(await c.reply(), 'banner');
  if (!banner.ok) return banner;
  if (banner.value.code === 554) {
    // RFC 5321 §3.1: after a 554 greeting the server waits for QUIT.
    return {
      ok: false,
      untestable: {
        reason: 'service_rejected',
        stage: 'banner',
        detail: `554 ${banner.value.lines.join(' ').slice(0, 200)}`,
      },
    };
  }
  if (banner.value.code !== 220) {
    return {
      ok: false,
      untestable: { reason: 'protocol_error', stage: 'banner', detail: `greeting code ${banner.value.code}` },
    };
  }
  return banner;
}

export type FullSessionResult = Omit<MxAddressProbe, 'versions' | 'ciphers' | 'durationMs'>;

export async function fullSession(
  spec: SessionSpec,
  ctx: tls.SecureContext,
  options: { vrfyExpn: boolean; relay?: RelayTest },
): Promise<FullSessionResult> {
  const out: FullSessionResult = {
    address: spec.address,
    family: spec.family,
    port: spec.port,
    outcome: 'tested',
  };
  const opened = await open(spec);
  if (!opened.ok) {
    if (opened.refused) return { ...out, outcome: 'refused', refused: opened.refused };
    return { ...out, outcome: 'untestable', ...(opened.untestable ? { untestable: opened.untestable } : {}) };
  }
  const c = opened.conversation;
  const stop = (u: Untestable): FullSessionResult => {
    c.close();
    return { ...out, outcome: 'untestable', untestable: u };
  };
  try {
    const banner = await greeting(c);
    if (!banner.ok) {
      if (banner.untestable.reason === 'service_rejected') await c.quit();
      return stop(banner.untestable);
    }
    out.banner = observed(banner.value);

    const ehlo = expectReply(await c.command(`EHLO ${spec.ehloName}`), 'ehlo');
    if (!ehlo.ok) return stop(ehlo.untestable);
    if (ehlo.value.code === 250) {
      out.ehlo = { command: 'EHLO', reply: observed(ehlo.value), keywords: ehloKeywords(ehlo.value) };
    } else {
      // RFC 5321 §3.2: a server that does not know EHLO gets HELO (and then offers no extensions).
      const helo = expectReply(await c.command(`HELO ${spec.ehloName}`), 'ehlo');
      if (!helo.ok) return stop(helo.untestable);
      if (helo.value.code !== 250) {
        return stop({
          reason: 'service_rejected',
          stage: 'ehlo',
          detail: `EHLO and HELO refused (${helo.value.code})`,
        });
      }
      out.ehlo = { command: 'HELO', reply: observed(helo.value), keywords: {} };
    }

    if (out.ehlo.keywords.STARTTLS === undefined) {
      out.starttls = { offered: false, outcome: 'not_offered' };
    } else {
      const starttls = expectReply(await c.command('STARTTLS'), 'starttls');
      if (!starttls.ok) return stop(starttls.untestable);
      if (starttls.value.code !== 220) {
        out.starttls = { offered: true, outcome: 'refused', reply: observed(starttls.value) };
      } else {
        const { result, discardedPlaintextBytes } = await c.upgrade(spec.host, ctx);
        const extra = discardedPlaintextBytes > 0 ? { discardedPlaintextBytes } : {};
        if (!result.ok) {
          if (result.kind === 'timeout') {
            const reason = c.remainingMs() > 0 ? 'tarpit' : 'timeout';
            return stop({ reason, stage: 'tls_handshake', detail: result.detail });
          }
          if (result.kind === 'reset' || result.kind === 'closed') {
            return stop({ reason: 'connection_reset', stage: 'tls_handshake', detail: result.detail });
          }
          out.starttls = {
            offered: true,
            outcome: 'handshake_failed',
            reply: observed(starttls.value),
            error: { code: result.code, detail: result.detail },
            ...extra,
          };
          c.close();
          return out;
        }
        out.starttls = { offered: true, outcome: 'ok', reply: observed(starttls.value), ...extra };
        out.tls = observeTls(result.socket, spec.host, result.handshakeMs);
        // RFC 3207 §4.2: EHLO again before any further command; with nothing further, QUIT alone.
        if (!options.vrfyExpn && !options.relay) {
          await c.quit();
          return out;
        }
        const again = await c.command(`EHLO ${spec.ehloName}`);
        // What TLS showed stands even if the server stops talking now.
        if (!again.ok || again.reply.code !== 250) {
          c.close();
          return out;
        }
        out.ehloAfterTls = { reply: observed(again.reply), keywords: ehloKeywords(again.reply) };
      }
    }
    // After a refused STARTTLS the session is still plaintext and usable for what follows.
    if (options.vrfyExpn) {
      const vrfy = await c.command('VRFY postmaster');
      if (vrfy.ok) out.vrfy = observed(vrfy.reply);
      const expn = vrfy.ok ? await c.command('EXPN postmaster') : undefined;
      if (expn?.ok) out.expn = observed(expn.reply);
    }
    if (options.relay) {
      const relay = await relayTest(c, options.relay);
      if (relay) out.relay = relay;
    }
    await c.quit();
    return out;
  } finally {
    c.close();
  }
}

/**
 * RFC 5321 §3.9: an MTA must not relay for strangers. MAIL FROM and RCPT TO with addresses in
 * `example.invalid` (RFC 2606 §2: never resolvable, so nothing could ever be delivered), then RSET.
 * A server that checks the recipient domain refuses `.invalid` whatever its relay policy; that is
 * reported as "not accepted", which proves no relay for this recipient, not for all.
 */
async function relayTest(c: Conversation, test: RelayTest): Promise<RelayObservation | undefined> {
  const mail = await c.command(`MAIL FROM:<${test.sender}>`);
  if (!mail.ok) return undefined;
  const base = { sender: test.sender, recipient: test.recipient, mailFrom: observed(mail.reply) };
  if (mail.reply.code !== 250) return { ...base, accepted: false };
  const rcpt = await c.command(`RCPT TO:<${test.recipient}>`);
  if (!rcpt.ok) return { ...base, accepted: false };
  const accepted = rcpt.reply.code >= 200 && rcpt.reply.code < 300;
  await c.command('RSET');
  return { ...base, rcptTo: observed(rcpt.reply), accepted };
}

export type HandshakeSessionResult =
  | { outcome: 'accepted'; protocol: string | null; cipher: string }
  | { outcome: 'rejected'; detail: string }
  | { outcome: 'not_testable'; detail: string }
  | { outcome: 'untestable'; detail: string };

/** One connection up to a single handshake with `ctx`; nothing after it. */
export async function handshakeSession(
  spec: SessionSpec,
  ctx: tls.SecureContext,
): Promise<HandshakeSessionResult> {
  const opened = await open(spec);
  if (!opened.ok) {
    const detail = opened.refused?.detail ?? opened.untestable?.detail ?? 'not connected';
    return { outcome: 'untestable', detail };
  }
  const c = opened.conversation;
  try {
    const banner = await greeting(c);
    if (!banner.ok) return { outcome: 'untestable', detail: banner.untestable.detail };
    const ehlo = expectReply(await c.command(`EHLO ${spec.ehloName}`), 'ehlo');
    if (!ehlo.ok || ehlo.value.code !== 250) return { outcome: 'untestable', detail: 'EHLO failed' };
    const starttls = expectReply(await c.command('STARTTLS'), 'starttls');
    if (!starttls.ok || starttls.value.code !== 220)
      return { outcome: 'untestable', detail: 'STARTTLS failed' };
    const { result } = await c.upgrade(spec.host, ctx);
    if (result.ok) {
      const cipher = result.socket.getCipher();
      const accepted: HandshakeSessionResult = {
        outcome: 'accepted',
        protocol: result.socket.getProtocol(),
        cipher: cipher.standardName ?? cipher.name,
      };
      // close_notify, then gone: nothing more is needed from this connection.
      result.socket.end();
      return accepted;
    }
    if (result.kind === 'client_unsupported') return { outcome: 'not_testable', detail: result.detail };
    if (result.kind === 'timeout') return { outcome: 'untestable', detail: result.detail };
    // An alert, or a server that hangs up on a ClientHello it does not like: both are refusals.
    return { outcome: 'rejected', detail: `${result.code}: ${result.detail}`.slice(0, 300) };
  } finally {
    c.close();
  }
}
