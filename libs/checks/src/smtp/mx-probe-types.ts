/**
 * The public shapes of the MX probe analysis: its context (clock, resolver, MTA-STS policy, DANE
 * input) and the facts and result it reports per address and per extra service.
 */
import type { Resolver, TlsaData } from '@mailwarden/core';
import type { CheckName, Finding } from '../findings.ts';
import type { StsMode } from '../mta-sts/policy.ts';
import type { TlsFacts } from '../tls/analyse-tls.ts';
import type { ProbedAddress } from './probe-input.ts';

/** What a DANE matcher returns: a boolean, or an object whose `matched` says it (`TlsaMatchResult`). */
export type DaneMatchOutcome = boolean | { matched: boolean };

export interface DaneInput {
  /** TLSA records at `_<port>._tcp.<mx host>` (RFC 7672 §2.2). */
  tlsa: TlsaData[];
  /** True when the TLSA RRset validated as DNSSEC-secure; insecure TLSA records are ignored. */
  secure: boolean;
  /**
   * The matcher, injected by the caller: libs/checks/src/dane `matchTlsa` (possibly bound to its
   * `referenceNames` option for DANE-TA). Kept a parameter so this analysis does not fix the
   * DANE policy.
   */
  match: (records: TlsaData[], chainDer: Uint8Array[]) => DaneMatchOutcome;
}

export interface MxProbeContext {
  /** The injected clock's reading. */
  now: Date;
  /** Widest to narrowest; default 30, 14, 7 days. */
  expiryWarningDays?: readonly [number, number, number];
  /** For the banner host against PTR and forward-confirmed reverse DNS; skipped without it. */
  resolver?: Resolver;
  /** The domain's parsed MTA-STS policy (libs/checks/src/mta-sts), when it has one. */
  mtaSts?: { mode: StsMode; mx: readonly string[] };
  dane?: DaneInput;
}

export type MxProbeStatus = 'ok' | 'findings' | 'untestable';

export interface MxProbeAddressFacts {
  address: string;
  outcome: ProbedAddress['outcome'];
  untestable?: { reason: string; stage: string; detail: string };
  banner?: string;
  bannerHost?: string;
  software?: { product: string; version?: string };
  /** PTR names of the address and whether the banner host is among them and resolves back. */
  reverseDns?: { ptr: string[]; bannerHostConfirmed: boolean | 'unknown' };
  esmtp?: boolean;
  keywords?: string[];
  authBeforeTls?: string[];
  starttls?: string;
  tls?: TlsFacts;
  tlsValid?: boolean;
  versions?: Record<string, string>;
  weakCiphersAccepted?: string[];
  staticRsaAccepted?: boolean;
  vrfy?: number;
  expn?: number;
  relay?: { recipient: string; rcptCode?: number; accepted: boolean };
  dane?: { matched: boolean; detail?: unknown };
}

export interface MxProbeServiceFacts {
  address: string;
  port: number;
  service: string;
  transport: string;
  outcome: string;
  starttls?: string;
  tls?: TlsFacts;
}

export interface MxProbeFacts {
  host: string;
  port: number;
  probedAt?: string;
  addresses: MxProbeAddressFacts[];
  services: MxProbeServiceFacts[];
}

export interface MxProbeCheckResult {
  check: CheckName;
  status: MxProbeStatus;
  facts: MxProbeFacts;
  findings: Finding[];
}
