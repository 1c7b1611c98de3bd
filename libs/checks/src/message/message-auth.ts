/**
 * Authentication through mailauth (DKIM, SPF, ARC, then DMARC over the SPF and DKIM passes), with
 * DNS through the caller's resolver, and its results cut down to the report's summaries. Also the
 * guards around it: the DKIM signature cap and the deadline.
 */
import { parseIp } from '@mailwarden/core';
import type {
  ARCData,
  ARCResult,
  DKIMResult,
  DKIMVerifyResult,
  DMARCResult,
  DNSResolver,
  SPFResult,
} from 'mailauth';
import { clip } from '../shared/dns-name.ts';
import {
  type ArcSummary,
  type CheckMessageOptions,
  type DkimSummary,
  type DmarcSummary,
  MAX_DKIM_SIGNATURES,
  type MessageCheckReport,
  type SpfSummary,
} from './message-types.ts';

/**
 * mailauth and its dependencies take a few hundred milliseconds to load; only this check needs
 * them, so every other command and check starts without paying for it.
 */
let mailauthModule: Promise<typeof import('mailauth')> | undefined;
function loadMailauth(): Promise<typeof import('mailauth')> {
  mailauthModule ??= import('mailauth');
  return mailauthModule;
}

/** RFC 8301 §3.2: RSA keys under 1024 bits are not accepted. */
const MIN_KEY_BITS = 1024;

/**
 * Keeps the first MAX_DKIM_SIGNATURES DKIM-Signature fields of the header and drops the rest
 * before verification (RFC 6376 §6.1), so a message cannot buy unbounded work with signatures.
 */
export function limitSignatures(raw: Buffer): { message: Buffer; dropped: number } {
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

export function domainOfAddress(address: string | null | undefined): string | null {
  if (!address) return null;
  const at = address.lastIndexOf('@');
  const domain = (at === -1 ? address : address.slice(at + 1)).replace(/[<>\s]/g, '').toLowerCase();
  return domain === '' ? null : domain;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? clip(value, 512) : null;
}

export interface AuthOutcome {
  dkim: DKIMVerifyResult | null;
  spf: SPFResult | null;
  arc: ARCResult | null;
  dmarc: DMARCResult | null;
  mailFrom: string | null;
  mailFromSource: MessageCheckReport['envelope']['mailFromSource'];
  helo: string | null;
}

export async function authenticate(
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

export function spfSummary(outcome: AuthOutcome | null, clientIp: string | null): SpfSummary {
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

export function dkimSummaries(results: readonly DKIMResult[]): DkimSummary[] {
  return results.map((r) => ({
    domain: typeof r.signingDomain === 'string' ? r.signingDomain.toLowerCase() : '',
    selector: r.selector ?? null,
    algorithm: r.algorithm ?? null,
    result: r.status.result,
    aligned: Boolean(r.status.aligned),
    comment: text(r.status.comment),
  }));
}

export function arcSummary(arc: ARCResult | null | undefined): ArcSummary {
  if (!arc) return { result: 'none', instance: 0, comment: null };
  return {
    result: arc.status.result,
    instance: typeof arc.i === 'number' ? arc.i : 0,
    comment: text(arc.status.comment),
  };
}

export function dmarcSummary(dmarc: DMARCResult | null | undefined): DmarcSummary | null {
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

export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T | 'deadline'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
