/**
 * `probeMx(host, addresses, options)`: the SMTP/TLS probe of one MX host, at each of its addresses
 * (IPv4 and IPv6), on SMTP_PROBE_PORT.
 *
 * Per address, one after the other and never two at once (`ProbeLimiter.exclusive`), each
 * connection waiting for the global rate (`connectionSlot`):
 * 1. the full session (banner, EHLO, STARTTLS, TLS with SNI = host, chain, EHLO, VRFY/EXPN
 *    `postmaster`, the opt-in relay test, QUIT);
 * 2. when STARTTLS is offered: one handshake per protocol version (TLS 1.3 down to 1.0) and one per
 *    weak cipher category this OpenSSL can still offer, each on its own connection;
 * 3. the opt-in other mail ports.
 * Addresses of one host are probed in parallel: they are different machines (or at least different
 * sockets) and each has its own queue.
 *
 * The result is data (`MxProbeResult`), never a thrown error; `libs/checks` turns it into findings.
 */
import type { AllowList } from '../ssrf/cidr.ts';
import { parseIpLiteral } from '../ssrf/ip.ts';
import { MAX_ADDRESSES_PER_HOST, normaliseHost } from '../ssrf/vet.ts';
import { DEFAULT_PROBE_LIMITS, type ProbeLimits } from './conversation.ts';
import { type ProbeLimiter, sharedProbeLimiter } from './limiter.ts';
import { probeService } from './services.ts';
import { fullSession, handshakeSession, type RelayTest, type SessionSpec } from './smtp-session.ts';
import { cipherProfile, contextFor, mainProfile, versionProfile } from './tls-handshake.ts';
import type {
  CipherCategory,
  CipherProbe,
  MxAddressProbe,
  MxProbeResult,
  ServiceProbe,
  ServiceTarget,
  TlsVersionName,
  VersionProbe,
} from './types.ts';

/** SMTP_PROBE_PORT's default: RFC 5321 §4.5.4.1 relay port. */
export const DEFAULT_SMTP_PROBE_PORT = 25;
export const DEFAULT_PROBE_CONNECT_TIMEOUT_MS = 10_000;
/** RFC 5321 §4.5.3.2 allows minutes per reply; a prober gives 30 s and calls the rest a tarpit. */
export const DEFAULT_PROBE_REPLY_TIMEOUT_MS = 30_000;
export const DEFAULT_PROBE_SESSION_TIMEOUT_MS = 60_000;
/** All connections to one address together (main session, version and cipher probes, services). */
export const DEFAULT_PROBE_ADDRESS_BUDGET_MS = 180_000;
/** RFC 5321 §4.1.1.1: the client's own FQDN. `.invalid` (RFC 2606) names nothing real. */
export const DEFAULT_EHLO_NAME = 'probe.mailwarden.invalid';
export const DEFAULT_RELAY_SENDER = 'mailwarden-relay-test@example.invalid';

const PROBED_VERSIONS = ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1'] as const;
const PROBED_CIPHERS: readonly CipherCategory[] = [
  'static_rsa',
  'anonymous',
  'null',
  '3des',
  'rc4',
  'des',
  'export',
];
const SSLV3_DETAIL =
  "Node's OpenSSL is built without SSLv3 (no-ssl3): an SSLv3 ClientHello cannot be sent, so SSLv3 support is not tested.";

export interface ProbeMxOptions {
  /** PROBE_ALLOW_CIDRS: non-public ranges that may be dialled (tests, labs). */
  allow: AllowList;
  /** SMTP_PROBE_PORT. */
  port?: number;
  /** TLS_EXTRA_CA_FILE contents (PEM certificates), trusted besides Node's bundled roots. */
  extraCa?: readonly string[];
  ehloName?: string;
  connectTimeoutMs?: number;
  replyTimeoutMs?: number;
  sessionTimeoutMs?: number;
  addressBudgetMs?: number;
  limits?: Partial<ProbeLimits>;
  /** Per-version handshakes (default true). */
  probeVersions?: boolean;
  /** Weak-cipher and static-RSA handshakes (default true). */
  probeCiphers?: boolean;
  /** VRFY/EXPN `postmaster` (default true). */
  vrfyExpn?: boolean;
  /** Opt-in per domain: MAIL FROM / RCPT TO an example.invalid recipient, then RSET. Off by default. */
  relayTest?: boolean | { sender?: string };
  /** Opt-in per domain: other mail ports (DEFAULT_MAIL_SERVICES for the standard ones). */
  services?: readonly ServiceTarget[];
  limiter?: ProbeLimiter;
  signal?: AbortSignal;
}

function relayOf(option: ProbeMxOptions['relayTest']): RelayTest | undefined {
  if (!option) return undefined;
  const sender = typeof option === 'object' && option.sender ? option.sender : DEFAULT_RELAY_SENDER;
  // A fresh local part per test, so a relay's logs show which run asked.
  const recipient = `relay-test-${Date.now().toString(36)}@example.invalid`;
  return { sender, recipient };
}

async function probeAddress(host: string, address: string, options: ProbeMxOptions): Promise<MxAddressProbe> {
  const started = Date.now();
  const limiter = options.limiter ?? sharedProbeLimiter;
  const parsed = parseIpLiteral(address);
  const family = parsed.ok ? parsed.family : 4;
  const dial = parsed.ok ? parsed.text : address;
  const budgetEndsAt = started + (options.addressBudgetMs ?? DEFAULT_PROBE_ADDRESS_BUDGET_MS);
  const sessionMs = options.sessionTimeoutMs ?? DEFAULT_PROBE_SESSION_TIMEOUT_MS;
  const spec = (port: number): SessionSpec => ({
    host,
    address: dial,
    family,
    port,
    allow: options.allow,
    ehloName: options.ehloName ?? DEFAULT_EHLO_NAME,
    limits: { ...DEFAULT_PROBE_LIMITS, ...options.limits },
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_PROBE_CONNECT_TIMEOUT_MS,
    replyTimeoutMs: options.replyTimeoutMs ?? DEFAULT_PROBE_REPLY_TIMEOUT_MS,
    sessionEndsAt: Math.min(Date.now() + sessionMs, budgetEndsAt),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const port = options.port ?? DEFAULT_SMTP_PROBE_PORT;
  const slot = () => limiter.connectionSlot(options.signal);

  await slot();
  const mainCtx = contextFor(mainProfile(options.extraCa));
  if (!mainCtx) throw new Error('the main TLS client profile is not available in this OpenSSL build');
  const relay = relayOf(options.relayTest);
  const main = await fullSession(spec(port), mainCtx, {
    vrfyExpn: options.vrfyExpn ?? true,
    ...(relay ? { relay } : {}),
  });
  const result: MxAddressProbe = { ...main, durationMs: 0 };

  const starttls = main.starttls?.outcome;
  if (main.outcome === 'tested' && (starttls === 'ok' || starttls === 'handshake_failed')) {
    if (options.probeVersions ?? true) {
      const versions: Partial<Record<TlsVersionName, VersionProbe>> = {
        SSLv3: { outcome: 'not_testable', detail: SSLV3_DETAIL },
      };
      for (const version of PROBED_VERSIONS) {
        const ctx = contextFor(versionProfile(version));
        if (!ctx) {
          versions[version] = { outcome: 'not_testable', detail: 'this OpenSSL build cannot offer it' };
          continue;
        }
        if (Date.now() >= budgetEndsAt || options.signal?.aborted) {
          versions[version] = {
            outcome: 'untestable',
            detail: 'the probe budget for this address was spent',
          };
          continue;
        }
        await slot();
        const r = await handshakeSession(spec(port), ctx);
        versions[version] =
          r.outcome === 'accepted'
            ? { outcome: 'accepted', cipher: r.cipher }
            : { outcome: r.outcome, detail: r.detail };
      }
      result.versions = versions;
    }
    if (options.probeCiphers ?? true) {
      const ciphers: Partial<Record<CipherCategory, CipherProbe>> = {};
      for (const category of PROBED_CIPHERS) {
        const ctx = contextFor(cipherProfile(category));
        if (!ctx) {
          ciphers[category] = {
            outcome: 'not_testable',
            detail: 'this OpenSSL build has no such cipher suite',
          };
          continue;
        }
        if (Date.now() >= budgetEndsAt || options.signal?.aborted) {
          ciphers[category] = {
            outcome: 'untestable',
            detail: 'the probe budget for this address was spent',
          };
          continue;
        }
        await slot();
        const r = await handshakeSession(spec(port), ctx);
        ciphers[category] =
          r.outcome === 'accepted'
            ? { outcome: 'accepted', cipher: r.cipher, ...(r.protocol ? { protocol: r.protocol } : {}) }
            : { outcome: r.outcome, detail: r.detail };
      }
      result.ciphers = ciphers;
    }
  }
  result.durationMs = Date.now() - started;
  return result;
}

async function probeServices(
  host: string,
  address: string,
  options: ProbeMxOptions,
): Promise<ServiceProbe[]> {
  const out: ServiceProbe[] = [];
  const limiter = options.limiter ?? sharedProbeLimiter;
  const ctx = contextFor(mainProfile(options.extraCa));
  const parsed = parseIpLiteral(address);
  if (!ctx || !parsed.ok) return out;
  for (const target of options.services ?? []) {
    await limiter.connectionSlot(options.signal);
    const sessionMs = options.sessionTimeoutMs ?? DEFAULT_PROBE_SESSION_TIMEOUT_MS;
    out.push(
      await probeService(
        {
          host,
          address: parsed.text,
          family: parsed.family,
          port: target.port,
          allow: options.allow,
          ehloName: options.ehloName ?? DEFAULT_EHLO_NAME,
          limits: { ...DEFAULT_PROBE_LIMITS, ...options.limits },
          connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_PROBE_CONNECT_TIMEOUT_MS,
          replyTimeoutMs: options.replyTimeoutMs ?? DEFAULT_PROBE_REPLY_TIMEOUT_MS,
          sessionEndsAt: Date.now() + sessionMs,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        target,
        ctx,
      ),
    );
  }
  return out;
}

/**
 * Probes MX `host` at `addresses` (as the MX check resolved them; each is vetted by the SSRF
 * guard before it is dialled, and none is resolved again).
 */
export async function probeMx(
  host: string,
  addresses: readonly string[],
  options: ProbeMxOptions,
): Promise<MxProbeResult> {
  const started = Date.now();
  const name = normaliseHost(host);
  const limiter = options.limiter ?? sharedProbeLimiter;
  const canonical = (a: string) => {
    const p = parseIpLiteral(a);
    return p.ok ? p.text : a;
  };
  const targets = [...new Set(addresses.map(canonical))].slice(0, MAX_ADDRESSES_PER_HOST);
  const perAddress = await Promise.all(
    targets.map((address) =>
      limiter.exclusive(address, async () => {
        const probe = await probeAddress(name, address, options);
        const services =
          probe.outcome === 'refused' || (options.services ?? []).length === 0
            ? []
            : await probeServices(name, address, options);
        return { probe, services };
      }),
    ),
  );
  return {
    host: name,
    port: options.port ?? DEFAULT_SMTP_PROBE_PORT,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    addresses: perAddress.map((p) => p.probe),
    services: perAddress.flatMap((p) => p.services),
  };
}
