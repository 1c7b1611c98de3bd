/**
 * What the MX probe saw. Plain data: libs/checks analyses it (`analyseMxProbe`) without importing
 * this library, through a structurally identical input type; keep the two in step.
 */

/** Why an address could not be tested. Not a verdict: a second run has to confirm it. */
export type UntestableReason =
  | 'connect_timeout'
  | 'connection_refused'
  | 'unreachable'
  | 'connection_reset'
  /** The peer closed the connection in the middle of the dialogue. */
  | 'closed'
  /** The whole-session deadline passed. */
  | 'timeout'
  /** Connected, but a reply did not complete within the reply deadline. */
  | 'tarpit'
  /** RFC 5321 §3.8, §4.2.3: 421, service not available (greylisting, load, rate limits). */
  | 'service_unavailable'
  /** RFC 5321 §3.1: a 554 greeting, "no SMTP service here" (often a block of the prober). */
  | 'service_rejected'
  /** Replies that are not SMTP (or IMAP/POP3) at all. */
  | 'protocol_error'
  | 'reply_too_large'
  | 'network_error'
  | 'aborted';

export type ProbeStage = 'connect' | 'banner' | 'ehlo' | 'starttls' | 'tls_handshake' | 'after_tls' | 'quit';

export interface ReplyObservation {
  code: number;
  lines: string[];
}

export interface TlsObservation {
  /** `TLSv1.3`, `TLSv1.2`, … as OpenSSL names it. */
  protocol: string | null;
  /** OpenSSL cipher name and the IANA name. */
  cipher: { name: string; standardName?: string };
  /** The ephemeral key exchange (absent for static RSA key exchange: no forward secrecy). */
  ephemeralKey?: { type: string; name?: string; size?: number };
  /** Whether the chain verified against Node's bundled roots plus the extra CA certificates. */
  authorized: boolean;
  /** OpenSSL's verify error code when not authorized (the host name is judged separately). */
  authorizationError?: string;
  /** The SNI name sent: the MX host name. */
  servername: string;
  /**
   * The peer's chain, DER, leaf first, as Node reports it (`getPeerCertificate(true)`): the
   * certificates the server sent, ordered by issuer, completed from the trust store when they
   * lead to a trusted root.
   */
  chainDer: Uint8Array[];
  handshakeMs: number;
}

export type TlsVersionName = 'SSLv3' | 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface VersionProbe {
  /**
   * `accepted`: a handshake at exactly this version completed. `rejected`: the server refused it
   * (alert or closed connection). `not_testable`: this Node/OpenSSL cannot offer it (SSLv3).
   * `untestable`: the dialogue before the handshake failed this time.
   */
  outcome: 'accepted' | 'rejected' | 'not_testable' | 'untestable';
  cipher?: string;
  detail?: string;
}

export type CipherCategory = 'null' | 'anonymous' | 'export' | 'des' | 'rc4' | '3des' | 'static_rsa';

export interface CipherProbe {
  /** As for versions; `not_testable` when this OpenSSL build has no such cipher suite to offer. */
  outcome: 'accepted' | 'rejected' | 'not_testable' | 'untestable';
  /** The suite the server picked when it accepted. */
  cipher?: string;
  protocol?: string;
  detail?: string;
}

export interface StarttlsObservation {
  offered: boolean;
  /** `ok`: TLS is up. `refused`: STARTTLS got no 220. `handshake_failed`: the TLS handshake failed. */
  outcome: 'not_offered' | 'ok' | 'refused' | 'handshake_failed';
  reply?: ReplyObservation;
  error?: { code: string; detail: string };
  /** Plaintext bytes the server sent after its 220 and before TLS, discarded (RFC 3207 §4.2). */
  discardedPlaintextBytes?: number;
}

export interface RelayObservation {
  sender: string;
  recipient: string;
  mailFrom: ReplyObservation;
  rcptTo?: ReplyObservation;
  /** True when the server accepted the foreign recipient (2xx to RCPT). */
  accepted: boolean;
}

export interface MxAddressProbe {
  address: string;
  family: 4 | 6;
  port: number;
  outcome: 'tested' | 'untestable' | 'refused';
  untestable?: { reason: UntestableReason; stage: ProbeStage; detail: string };
  /** The SSRF guard refused the address (not public unicast and not allowed). */
  refused?: { verdict: string; detail: string };
  banner?: ReplyObservation;
  ehlo?: { command: 'EHLO' | 'HELO'; reply: ReplyObservation; keywords: Record<string, string[]> };
  vrfy?: ReplyObservation;
  expn?: ReplyObservation;
  starttls?: StarttlsObservation;
  tls?: TlsObservation;
  ehloAfterTls?: { reply: ReplyObservation; keywords: Record<string, string[]> };
  relay?: RelayObservation;
  versions?: Partial<Record<TlsVersionName, VersionProbe>>;
  ciphers?: Partial<Record<CipherCategory, CipherProbe>>;
  durationMs: number;
}

export type MailService = 'submission' | 'submissions' | 'imap' | 'imaps' | 'pop3' | 'pop3s';

export interface ServiceTarget {
  service: MailService;
  port: number;
}

export interface ServiceProbe {
  address: string;
  port: number;
  service: MailService;
  /** `starttls` services start in plaintext; `implicit` ones speak TLS from the first byte. */
  transport: 'starttls' | 'implicit';
  /** `closed`: nothing listens (connection refused), which is fine for an optional service. */
  outcome: 'tested' | 'closed' | 'untestable' | 'refused';
  untestable?: { reason: UntestableReason; stage: ProbeStage; detail: string };
  greeting?: string;
  /** For plaintext services: whether the server offers STARTTLS (SMTP, IMAP) or STLS (POP3). */
  starttls?: StarttlsObservation;
  tls?: TlsObservation;
}

export interface MxProbeResult {
  /** The MX host name: SNI, certificate name, MTA-STS and DANE all refer to it. */
  host: string;
  port: number;
  startedAt: string;
  durationMs: number;
  addresses: MxAddressProbe[];
  services: ServiceProbe[];
}
