/**
 * The MX probe result as the analysis reads it: structurally what libs/net's `probeMx` returns
 * (`MxProbeResult`), declared here so the pure checks import nothing from the network library.
 * Only the fields the analysis reads are listed; keep them in step with libs/net/src/smtp/types.ts.
 */

export interface ProbeReply {
  code: number;
  lines: string[];
}

export interface ProbeTls {
  protocol: string | null;
  cipher: { name: string; standardName?: string };
  ephemeralKey?: { type: string; name?: string; size?: number };
  authorized: boolean;
  authorizationError?: string;
  servername: string;
  /** DER, leaf first. */
  chainDer: Uint8Array[];
}

export type ProbeOutcome = 'accepted' | 'rejected' | 'not_testable' | 'untestable';

export interface ProbeStarttls {
  offered: boolean;
  outcome: 'not_offered' | 'ok' | 'refused' | 'handshake_failed';
  reply?: ProbeReply;
  error?: { code: string; detail: string };
  discardedPlaintextBytes?: number;
}

export interface ProbeUntestable {
  reason: string;
  stage: string;
  detail: string;
}

export interface ProbedAddress {
  address: string;
  family: 4 | 6;
  port: number;
  outcome: 'tested' | 'untestable' | 'refused';
  untestable?: ProbeUntestable;
  refused?: { verdict: string; detail: string };
  banner?: ProbeReply;
  ehlo?: { command: 'EHLO' | 'HELO'; reply: ProbeReply; keywords: Record<string, string[]> };
  vrfy?: ProbeReply;
  expn?: ProbeReply;
  starttls?: ProbeStarttls;
  tls?: ProbeTls;
  ehloAfterTls?: { reply: ProbeReply; keywords: Record<string, string[]> };
  relay?: { sender: string; recipient: string; mailFrom: ProbeReply; rcptTo?: ProbeReply; accepted: boolean };
  versions?: Partial<
    Record<
      'SSLv3' | 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3',
      { outcome: ProbeOutcome; cipher?: string; detail?: string }
    >
  >;
  ciphers?: Partial<
    Record<string, { outcome: ProbeOutcome; cipher?: string; protocol?: string; detail?: string }>
  >;
}

export interface ProbedService {
  address: string;
  port: number;
  service: string;
  transport: 'starttls' | 'implicit';
  outcome: 'tested' | 'closed' | 'untestable' | 'refused';
  untestable?: ProbeUntestable;
  greeting?: string;
  starttls?: ProbeStarttls;
  tls?: ProbeTls;
}

export interface MxProbeInput {
  host: string;
  port: number;
  startedAt?: string;
  addresses: ProbedAddress[];
  services: ProbedService[];
}
