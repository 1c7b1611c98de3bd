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

import { parseIp, type Resolver } from '@mailwarden/core';
import type {
  ARCData,
  ARCResult,
  DKIMResult,
  DKIMVerifyResult,
  DMARCResult,
  DNSResolver,
  SPFResult,
} from 'mailauth';
import { type BlocklistFacts, blocklistDomainOf, checkBlocklists } from '../blocklist/blocklist.ts';
import type { BlocklistZone } from '../blocklist/lists.ts';
import type { CheckResult, Finding } from '../findings.ts';
import { clip } from '../shared/dns-name.ts';
import { memoizeResolver } from '../shared/memo-resolver.ts';
import { DEFAULT_MESSAGE_DNS_BUDGET, mailauthResolver } from './mailauth-resolver.ts';
import { messageFindings as F } from './message-findings.ts';
import { type OtherPart, parseMime } from './mime.ts';
import { createExtractor } from './urls.ts';

/**
 * mailauth and its dependencies take a few hundred milliseconds to load; only this check needs
 * them, so every other command and check starts without paying for it.
 */
let mailauthModule: Promise<typeof import('mailauth')> | undefined;
function loadMailauth(): Promise<typeof import('mailauth')> {
  mailauthModule ??= import('mailauth');
  return mailauthModule;
}

/** Largest message accepted, bytes (the size limits of big mailbox providers are 25-50 MB; this is a check, not a mailbox). */
export const DEFAULT_MESSAGE_MAX_BYTES = 10 * 1024 * 1024;
/** RFC 6376 §6.1: a verifier MAY limit the signatures it tries; we verify the first ten. */
export const MAX_DKIM_SIGNATURES = 10;
/** The authentication part of one check; DNS timeouts end well before. */
export const DEFAULT_MESSAGE_DEADLINE_MS = 30_000;
/** RFC 8301 §3.2: RSA keys under 1024 bits are not accepted. */
const MIN_KEY_BITS = 1024;
/** Domains quoted in the report. */
const MAX_REPORTED_DOMAINS = 200;

export type MessageVerdict = 'pass' | 'neutral' | 'unknown' | 'suspicious' | 'fail';
/** Worst last; a verdict is the worst any part of the check reached. */
export const MESSAGE_VERDICTS: readonly MessageVerdict[] = [
  'pass',
  'neutral',
  'unknown',
  'suspicious',
  'fail',
];

export class MessageTooLargeError extends RangeError {
  readonly sizeBytes: number;
  readonly maxBytes: number;
  constructor(sizeBytes: number, maxBytes: number) {
    super(`the message is ${sizeBytes} bytes; at most ${maxBytes} are checked`);
    this.name = 'MessageTooLargeError';
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

export interface CheckMessageOptions {
  resolver: Resolver;
  /** Domain blocklists for the message's domains (lists.ts). */
  domainLists: readonly BlocklistZone[];
  /** IP blocklists for the client IP and the IP hosts of URLs; default none. */
  ipLists?: readonly BlocklistZone[];
  /** The SMTP client address. */
  clientIp?: string;
  /** The EHLO/HELO name. */
  helo?: string;
  /** The MAIL FROM address (reverse-path); `<>` or empty for a bounce. */
  mailFrom?: string;
  /** Our name in Authentication-Results (RFC 8601 §2.5 authserv-id). Default `mailwarden`. */
  authservId?: string;
  maxBytes?: number;
  /** DNS questions one message may cause. Default DEFAULT_MESSAGE_DNS_BUDGET. */
  dnsBudget?: number;
  deadlineMs?: number;
  /** The time DKIM signatures are judged at (t=, x=). */
  now?: () => Date;
}

export interface SpfSummary {
  result: string;
  domain: string | null;
  clientIp: string | null;
  helo: string | null;
  mailFrom: string | null;
  comment: string | null;
  lookups: number | null;
}

export interface DkimSummary {
  domain: string;
  selector: string | null;
  algorithm: string | null;
  result: string;
  aligned: boolean;
  comment: string | null;
}

export interface ArcSummary {
  result: string;
  /** The highest instance (i=) of the chain; 0 without one. */
  instance: number;
  comment: string | null;
}

export interface DmarcSummary {
  result: string;
  domain: string;
  /** The policy that applies to the From domain (p, or sp for a subdomain). */
  policy: string | null;
  pct: number | null;
  spfAligned: boolean;
  dkimAligned: boolean;
  comment: string | null;
  record: string | null;
}

export interface MessageCheckReport {
  verdict: MessageVerdict;
  /** The finding codes that decided the verdict. */
  reasons: string[];
  sizeBytes: number;
  envelope: {
    clientIp: string | null;
    helo: string | null;
    mailFrom: string | null;
    mailFromSource: 'given' | 'return-path' | 'none';
  };
  headerFrom: string[];
  subject: string | null;
  authentication: {
    spf: SpfSummary;
    dkim: DkimSummary[];
    arc: ArcSummary;
    dmarc: DmarcSummary | null;
    /** The results as one Authentication-Results field value (RFC 8601). */
    authenticationResults: string;
    /** Some lookups were refused: the DNS budget of the message ran out. */
    dnsBudgetExhausted: boolean;
    /** The authentication did not finish before the deadline. */
    timedOut: boolean;
    /** mailauth could not read the message at all (its error, clipped); null normally. */
    error: string | null;
  };
  content: {
    parts: number;
    texts: { contentType: string; charset: string; chars: number }[];
    attachments: OtherPart[];
    urls: string[];
    domains: { domain: string; registrable: string | null; sources: string[] }[];
    ipHosts: { address: string; sources: string[] }[];
    truncated: string[];
  };
  blocklists: CheckResult<BlocklistFacts> | null;
  findings: Finding[];
  dnsQueries: number;
  durationMs: number;
}

/**
 * Keeps the first MAX_DKIM_SIGNATURES DKIM-Signature fields of the header and drops the rest
 * before verification (RFC 6376 §6.1), so a message cannot buy unbounded work with signatures.
 */
function limitSignatures(raw: Buffer): { message: Buffer; dropped: number } {
  const text = raw.toString('latin1');
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  const end = crlf === -1 ? lf : lf === -1 ? crlf : Math.min(crlf, lf);
  const head = end === -1 ? text : text.slice(0, end);
  const fields = head.split(/(?=\r?\n[^ \t])/);
  let kept = 0;
  let dropped = 0;
  const out = fields.filter((field) => {
    if (!/^(?:\r?\n)?dkim-signature\s*:/i.test(field)) return true;
    if (kept < MAX_DKIM_SIGNATURES) {
      kept++;
      return true;
    }
    dropped++;
    return false;
  });
  if (dropped === 0) return { message: raw, dropped };
  let joined = out.join('');
  // The first field has no leading line break; if it was dropped, the next one carries one.
  joined = joined.replace(/^\r?\n/, '');
  return { message: Buffer.from(joined + text.slice(head.length), 'latin1'), dropped };
}

function domainOfAddress(address: string | null | undefined): string | null {
  if (!address) return null;
  const at = address.lastIndexOf('@');
  const domain = (at === -1 ? address : address.slice(at + 1)).replace(/[<>\s]/g, '').toLowerCase();
  return domain === '' ? null : domain;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? clip(value, 512) : null;
}

interface AuthOutcome {
  dkim: DKIMVerifyResult | null;
  spf: SPFResult | null;
  arc: ARCResult | null;
  dmarc: DMARCResult | null;
  mailFrom: string | null;
  mailFromSource: MessageCheckReport['envelope']['mailFromSource'];
  helo: string | null;
}

async function authenticate(
  message: Buffer,
  options: CheckMessageOptions,
  resolve: (name: string, type: string) => Promise<unknown[]>,
): Promise<AuthOutcome> {
  // mailauth's typings say string[][] | string[]; the resolver returns Node's shapes per type (MX objects too).
  const resolver = resolve as unknown as DNSResolver;
  const { arc: arcVerify, dkimVerify, dmarc: dmarcVerify, spf: spfVerify } = await loadMailauth();
  const dkim = await dkimVerify(message, {
    resolver,
    minBitLength: MIN_KEY_BITS,
    ...(options.mailFrom ? { sender: options.mailFrom } : {}),
    ...(options.now ? { curTime: options.now() } : {}),
  });
  let mailFrom: string | null = null;
  let mailFromSource: AuthOutcome['mailFromSource'] = 'none';
  if (options.mailFrom !== undefined) {
    mailFrom = options.mailFrom.replace(/^<|>$/g, '');
    mailFromSource = 'given';
  } else if (dkim.envelopeFrom) {
    mailFrom = dkim.envelopeFrom;
    mailFromSource = 'return-path';
  }
  const clientIp = options.clientIp ?? null;
  let helo = options.helo ?? (clientIp ? clientIp : null);
  if (helo && parseIp(helo)) helo = `[${helo}]`;
  const spf = clientIp
    ? await spfVerify({
        ip: clientIp,
        ...(helo ? { helo } : {}),
        ...(mailFrom ? { sender: mailFrom } : {}),
        mta: options.authservId ?? 'mailwarden',
        resolver,
      })
    : null;
  const arc = dkim.arc
    ? await arcVerify(dkim.arc as unknown as ARCData, { resolver, minBitLength: MIN_KEY_BITS })
    : null;
  let dmarc: DMARCResult | null = null;
  if (dkim.headerFrom && dkim.headerFrom.length > 0) {
    const result = await dmarcVerify({
      headerFrom: dkim.headerFrom,
      spfDomains: spf && spf.status.result === 'pass' && spf.domain ? [spf.domain] : [],
      dkimDomains: (dkim.results ?? [])
        .filter((r) => r.status.result === 'pass')
        .map((r) => ({
          ...(r.id ? { id: r.id } : {}),
          domain: r.signingDomain,
          ...(r.status.aligned !== undefined ? { aligned: r.status.aligned } : {}),
          ...(r.status.underSized !== undefined ? { underSized: r.status.underSized } : {}),
        })),
      ...(arc ? { arcResult: arc } : {}),
      resolver,
    });
    dmarc = result || null;
  }
  return { dkim, spf, arc, dmarc, mailFrom, mailFromSource, helo };
}

function spfSummary(outcome: AuthOutcome | null, clientIp: string | null): SpfSummary {
  const spf = outcome?.spf;
  if (!spf)
    return {
      result: outcome ? 'none' : 'temperror',
      domain: domainOfAddress(outcome?.mailFrom) ?? null,
      clientIp,
      helo: outcome?.helo ?? null,
      mailFrom: outcome?.mailFrom ?? null,
      comment: outcome ? 'no client IP given: SPF not evaluated' : 'not finished',
      lookups: null,
    };
  return {
    result: spf.status.result,
    domain: spf.domain ?? null,
    clientIp,
    helo: outcome?.helo ?? null,
    mailFrom: outcome?.mailFrom ?? null,
    comment: text(spf.status.comment),
    lookups: spf.lookups?.count ?? null,
  };
}

function dkimSummaries(results: readonly DKIMResult[]): DkimSummary[] {
  return results.map((r) => ({
    domain: typeof r.signingDomain === 'string' ? r.signingDomain.toLowerCase() : '',
    selector: r.selector ?? null,
    algorithm: r.algorithm ?? null,
    result: r.status.result,
    aligned: Boolean(r.status.aligned),
    comment: text(r.status.comment),
  }));
}

function arcSummary(arc: ARCResult | null | undefined): ArcSummary {
  if (!arc) return { result: 'none', instance: 0, comment: null };
  return {
    result: arc.status.result,
    instance: typeof arc.i === 'number' ? arc.i : 0,
    comment: text(arc.status.comment),
  };
}

function dmarcSummary(dmarc: DMARCResult | null | undefined): DmarcSummary | null {
  if (!dmarc) return null;
  return {
    result: dmarc.status.result,
    domain: dmarc.domain,
    policy: dmarc.policy || null,
    pct: typeof dmarc.pct === 'number' ? dmarc.pct : null,
    spfAligned: Boolean(dmarc.alignment?.spf?.result),
    dkimAligned: Boolean(dmarc.alignment?.dkim?.result),
    comment: text(dmarc.status.comment),
    record: text(dmarc.rr),
  };
}

const TEMPORARY = new Set(['temperror', 'temperr']);
const NOT_VERIFIED = new Set(['fail', 'neutral', 'permerror', 'policy']);

interface Judged {
  findings: Finding[];
  verdict: MessageVerdict;
  reasons: string[];
}

function judge(
  report: Pick<MessageCheckReport, 'authentication' | 'content'>,
  fromDomain: string,
  blocklists: CheckResult<BlocklistFacts> | null,
): Judged {
  const findings: Finding[] = [];
  const votes: { verdict: MessageVerdict; code: string }[] = [];
  const vote = (verdict: MessageVerdict, finding: Finding) => {
    findings.push(finding);
    votes.push({ verdict, code: finding.code });
  };
  const { spf, dkim, arc, dmarc, timedOut } = report.authentication;

  const { error } = report.authentication;
  const incomplete = timedOut || error !== null;
  if (incomplete)
    vote(
      'unknown',
      F.auth_unknown.make(
        fromDomain,
        timedOut
          ? 'The authentication checks did not finish in time.'
          : `The authentication checks could not read the message: ${error}.`,
        { timedOut, error },
      ),
    );
  if (dmarc?.result === 'fail')
    vote(
      'fail',
      F.dmarc_fail.make(fromDomain, `DMARC fails for ${dmarc.domain} (policy ${dmarc.policy ?? 'none'}).`, {
        ...dmarc,
      }),
    );
  if (spf.result === 'fail' || spf.result === 'softfail')
    vote(
      'suspicious',
      F.spf_fail.make(
        spf.domain ?? fromDomain,
        `SPF ${spf.result} for ${spf.mailFrom ?? spf.helo} from ${spf.clientIp}.`,
        {
          ...spf,
        },
      ),
    );
  // mailauth says `neutral` for a body hash mismatch, an expired signature or a missing key
  // (RFC 8601 §2.7.1 leaves it to the verifier): a signature that does not verify, all the same.
  for (const signature of dkim.filter((d) => NOT_VERIFIED.has(d.result)))
    vote(
      'suspicious',
      F.dkim_fail.make(
        signature.domain,
        `The DKIM signature of ${signature.domain} (selector ${signature.selector ?? '?'}) does not verify: ${signature.comment ?? signature.result}.`,
        { ...signature },
      ),
    );
  if (arc.result === 'fail')
    vote(
      'suspicious',
      F.arc_fail.make(fromDomain, `The ARC chain (i=${arc.instance}) fails: ${arc.comment ?? 'fail'}.`, {
        ...arc,
      }),
    );
  const anyPass = spf.result === 'pass' || dkim.some((d) => d.result === 'pass');
  const temporary = [spf.result, dmarc?.result ?? '', ...dkim.map((d) => d.result)].some((r) =>
    TEMPORARY.has(r),
  );
  if (temporary && !incomplete)
    vote(
      'unknown',
      F.auth_unknown.make(fromDomain, 'An authentication check ended in a temporary DNS error.', {
        spf: spf.result,
        dkim: dkim.map((d) => d.result),
        dmarc: dmarc?.result ?? null,
      }),
    );
  else if (!anyPass && !incomplete && dmarc?.result !== 'fail')
    vote(
      'suspicious',
      F.unauthenticated.make(fromDomain, 'Neither SPF nor any DKIM signature passes for this message.', {
        spf: spf.result,
        dkim: dkim.map((d) => d.result),
      }),
    );
  for (const finding of blocklists?.findings ?? []) {
    if (finding.code === 'blocklist.domain_listed' || finding.code === 'blocklist.ip_listed')
      vote('fail', finding);
    else if (finding.code === 'blocklist.lookup_unknown') vote('unknown', finding);
  }
  if (report.content.truncated.length > 0)
    findings.push(
      F.not_fully_examined.make(fromDomain, `Not examined: ${report.content.truncated.join(', ')}.`, {
        truncated: report.content.truncated,
      }),
    );

  let verdict: MessageVerdict = dmarc?.result === 'pass' ? 'pass' : 'neutral';
  for (const v of votes)
    if (MESSAGE_VERDICTS.indexOf(v.verdict) > MESSAGE_VERDICTS.indexOf(verdict)) verdict = v.verdict;
  const reasons = [...new Set(votes.filter((v) => v.verdict === verdict).map((v) => v.code))];
  return { findings, verdict, reasons };
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T | 'deadline'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

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

  const extractor = createExtractor();
  extractor.headers(mime.headers);
  extractor.headers(mime.nestedHeaders);
  for (const part of mime.texts) {
    if (part.contentType === 'text/html') extractor.html(part.text);
    else extractor.text(part.text);
  }
  for (const d of dkim) if (d.domain !== '') extractor.host(d.domain, 'dkim');
  const envelopeDomain = domainOfAddress(outcome?.mailFrom);
  if (envelopeDomain) extractor.host(envelopeDomain, 'envelope:mail-from');
  const extracted = extractor.result();
  if (extracted.truncated) truncated.push('URLs or hosts beyond the caps');

  const domainHosts = extracted.hosts.filter((h) => h.kind === 'domain');
  const ipHosts = extracted.hosts.filter((h) => h.kind === 'ip');
  const ipLists = options.ipLists ?? [];
  const origins: Record<string, string[]> = {};
  for (const h of extracted.hosts) origins[h.host] = h.sources;
  if (clientIp) origins[clientIp] = [...(origins[clientIp] ?? []), 'envelope:client-ip'];
  const wantsLookups = options.domainLists.length > 0 || ipLists.length > 0;
  const blocklists = wantsLookups
    ? await checkBlocklists(memo, {
        domains: domainHosts.map((h) => h.host),
        ips: ipLists.length > 0 ? [...(clientIp ? [clientIp] : []), ...ipHosts.map((h) => h.host)] : [],
        domainLists: options.domainLists,
        ipLists,
        origins,
      })
    : null;

  const content: MessageCheckReport['content'] = {
    parts: mime.partCount,
    texts: mime.texts.map((t) => ({ contentType: t.contentType, charset: t.charset, chars: t.text.length })),
    attachments: mime.others.slice(0, 100),
    urls: extracted.urls,
    domains: domainHosts
      .slice(0, MAX_REPORTED_DOMAINS)
      .map((h) => ({ domain: h.host, registrable: blocklistDomainOf(h.host) ?? null, sources: h.sources })),
    ipHosts: ipHosts.map((h) => ({ address: h.host, sources: h.sources })),
    truncated: [...new Set(truncated)],
  };
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
