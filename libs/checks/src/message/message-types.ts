/**
 * The public shapes of the message check: its options, limits and report (the SPF, DKIM, ARC and
 * DMARC summaries, the content and the verdict), and the one error it throws.
 */
import type { Resolver } from '@mailwarden/core';
import type { BlocklistFacts } from '../blocklist/blocklist.ts';
import type { BlocklistZone } from '../blocklist/lists.ts';
import type { CheckResult, Finding } from '../findings.ts';
import type { OtherPart } from './mime.ts';

/** Largest message accepted, bytes (the size limits of big mailbox providers are 25-50 MB; this is a check, not a mailbox). */
export const DEFAULT_MESSAGE_MAX_BYTES = 10 * 1024 * 1024;
/** RFC 6376 §6.1: a verifier MAY limit the signatures it tries; we verify the first ten. */
export const MAX_DKIM_SIGNATURES = 10;
/** The authentication part of one check; DNS timeouts end well before. */
export const DEFAULT_MESSAGE_DEADLINE_MS = 30_000;

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
