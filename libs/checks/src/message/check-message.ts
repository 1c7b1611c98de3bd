/**
 * The message check: one raw RFC 5322 message seen as a receiving gateway sees it. SPF, DKIM,
 * ARC and DMARC are verified by mailauth (the same order its `authenticate` uses: DKIM, SPF, ARC,
 * then DMARC over the SPF and DKIM passes), with every DNS question going through the injected
 * `Resolver`. BIMI is never run: it would fetch logos over the network. Then every URL and domain
 * of the headers, text and HTML parts is collected and their registrable domains are checked
 * against the domain blocklists. The answer is a verdict with its evidence.
 *
 * The SMTP envelope is the caller's to give, as a receiver knows it: the client IP, the HELO name
 * and the MAIL FROM address. Defaults when absent:
 * - no client IP: SPF is not evaluated (result `none`, "no client IP given"): guessing an address
 *   would invent a verdict. DMARC then rests on DKIM alone.
 * - no HELO: the client IP as an address literal (`[192.0.2.1]`, RFC 5321 §4.1.3).
 * - no MAIL FROM: the Return-Path header field, else none (SPF then checks `postmaster@<HELO>`,
 *   RFC 7208 §2.4).
 */

import { clip } from '../shared/dns-name.ts';
import { memoizeResolver } from '../shared/memo-resolver.ts';
import { DEFAULT_MESSAGE_DNS_BUDGET, mailauthResolver } from './mailauth-resolver.ts';
import {
  arcSummary,
  authenticate,
  dkimSummaries,
  dmarcSummary,
  domainOfAddress,
  limitSignatures,
  spfSummary,
  withDeadline,
} from './message-auth.ts';
import { examineContent } from './message-content.ts';
import {
  type CheckMessageOptions,
  DEFAULT_MESSAGE_DEADLINE_MS,
  DEFAULT_MESSAGE_MAX_BYTES,
  MAX_DKIM_SIGNATURES,
  type MessageCheckReport,
  MessageTooLargeError,
} from './message-types.ts';
import { judge } from './message-verdict.ts';
import { parseMime } from './mime.ts';

export {
  type ArcSummary,
  type CheckMessageOptions,
  DEFAULT_MESSAGE_DEADLINE_MS,
  DEFAULT_MESSAGE_MAX_BYTES,
  type DkimSummary,
  type DmarcSummary,
  MAX_DKIM_SIGNATURES,
  MESSAGE_VERDICTS,
  type MessageCheckReport,
  MessageTooLargeError,
  type MessageVerdict,
  type SpfSummary,
} from './message-types.ts';

/**
 * Checks one raw message. Throws MessageTooLargeError over the size cap; everything about the
 * message itself (malformed MIME, failing signatures, DNS trouble) is part of the report.
 */
export async function checkMessage(
  raw: Uint8Array,
  options: CheckMessageOptions,
): Promise<MessageCheckReport> {
  const startedMs = performance.now();
  const maxBytes = options.maxBytes ?? DEFAULT_MESSAGE_MAX_BYTES;
  if (raw.byteLength > maxBytes) throw new MessageTooLargeError(raw.byteLength, maxBytes);
  const buffer = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const mime = parseMime(buffer);
  const memo = memoizeResolver(options.resolver);
  const adapter = mailauthResolver(memo, options.dnsBudget ?? DEFAULT_MESSAGE_DNS_BUDGET);
  const { message, dropped } = limitSignatures(buffer);
  const truncated = [...mime.truncated];
  if (dropped > 0) truncated.push(`${dropped} DKIM signatures beyond the first ${MAX_DKIM_SIGNATURES}`);

  const settled = await withDeadline(
    authenticate(message, options, adapter.resolve).catch((err: unknown) => err as Error),
    options.deadlineMs ?? DEFAULT_MESSAGE_DEADLINE_MS,
  );
  // mailauth turns DNS trouble into temperror itself; a throw here is a message it cannot read.
  const outcome = settled === 'deadline' || settled instanceof Error ? null : settled;
  const clientIp = options.clientIp ?? null;
  const spf = spfSummary(outcome, clientIp);
  const dkim = dkimSummaries(outcome?.dkim?.results ?? []);
  const arc = arcSummary(outcome?.arc);
  const dmarc = dmarcSummary(outcome?.dmarc);
  const headerFrom = (outcome?.dkim?.headerFrom ?? []).map((a) => clip(a, 256));
  const fromField = mime.headers.find((h) => h.name === 'from')?.value;
  const fromDomain =
    dmarc?.domain ??
    domainOfAddress(headerFrom[0]) ??
    domainOfAddress(fromField?.match(/<([^>]*)>/)?.[1] ?? fromField) ??
    'message';

  const { content, blocklists } = await examineContent(
    memo,
    mime,
    { dkim, envelopeDomain: domainOfAddress(outcome?.mailFrom), clientIp },
    options,
    truncated,
  );
  const authservId = options.authservId ?? 'mailwarden';
  const infos = [
    ...(outcome?.dkim?.results ?? []).map((r) => r.info),
    outcome?.spf?.info,
    outcome?.arc?.info,
    outcome?.dmarc?.info,
  ].filter((i): i is string => typeof i === 'string' && i !== '');
  const authentication: MessageCheckReport['authentication'] = {
    spf,
    dkim,
    arc,
    dmarc,
    authenticationResults: clip(`${authservId}; ${infos.length > 0 ? infos.join('; ') : 'none'}`, 4096),
    dnsBudgetExhausted: adapter.exhausted,
    timedOut: settled === 'deadline',
    error: settled instanceof Error ? clip(settled.message, 256) : null,
  };
  const judged = judge({ authentication, content }, fromDomain, blocklists);
  const subject = mime.headers.find((h) => h.name === 'subject')?.value;
  return {
    verdict: judged.verdict,
    reasons: judged.reasons,
    sizeBytes: raw.byteLength,
    envelope: {
      clientIp,
      helo: outcome?.helo ?? null,
      mailFrom: outcome?.mailFrom ?? null,
      mailFromSource: outcome?.mailFromSource ?? 'none',
    },
    headerFrom,
    subject: subject === undefined ? null : clip(subject, 256),
    authentication,
    content,
    blocklists,
    findings: judged.findings,
    dnsQueries: memo.queryCount,
    durationMs: Math.round(performance.now() - startedMs),
  };
}
