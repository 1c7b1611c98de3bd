/**
 * `analyseMxProbe(probe, context)`: findings from what the SMTP/TLS probe of one MX host saw.
 *
 * Pure: the probe result comes in as data, DNS (for the banner/PTR comparison) through the
 * injected `Resolver`, the DANE matcher and the parsed MTA-STS policy as arguments, time from the
 * injected clock.
 *
 * Status: `untestable` when any address could not be tested (timeout, 421, tarpit, reset, garbage):
 * the findings listed are real, but what was not seen is not a regression until a second run
 * confirms it. Subjects are `host [address]` (and `host [address]:port` for other services), so
 * one MX with an IPv4 and an IPv6 address that differ shows both.
 */
import type { Resolver, TlsaData } from '@mailwarden/core';
import type { CheckName, Finding } from '../findings.ts';
import { mxMatches, type StsMode } from '../mta-sts/policy.ts';
import { addressKey, reverseName } from '../mx/reverse-name.ts';
import { analyseTlsSession, isWeakSuite, type TlsFacts } from '../tls/analyse-tls.ts';
import { tlsFindings as T } from '../tls/tls-findings.ts';
import type { MxProbeInput, ProbedAddress, ProbedService } from './probe-input.ts';
import { smtpFindings as S } from './smtp-findings.ts';

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

const LEGACY_VERSIONS = ['TLSv1', 'TLSv1.1'] as const;
const WEAK_CATEGORIES = ['null', 'anonymous', 'export', 'des', 'rc4', '3des'] as const;

/**
 * Known MTA products and a version after them. A product without a version number is recorded as a
 * fact but is no finding: "ESMTP Postfix" tells an attacker little.
 */
const SOFTWARE =
  /\b(postfix|exim|sendmail|qmail|haraka|opensmtpd|microsoft esmtp mail service|exchange server|zimbra|communigate pro|mdaemon|kerio connect|axigen|icewarp|halon|courier|hmailserver|mailenable|imail|surgemail|smtpd)\b(?:[^\d\r\n]{0,24}?(?:version[:\s]*)?v?(\d+(?:\.\d+)+[a-z0-9-]*))?/i;
const GENERIC_VERSION = /\bversion[:\s]+(\d+(?:\.\d+)+)/i;

export function softwareInBanner(text: string): { product: string; version?: string } | undefined {
  const m = SOFTWARE.exec(text);
  if (m) return { product: (m[1] as string).toLowerCase(), ...(m[2] ? { version: m[2] } : {}) };
  const g = GENERIC_VERSION.exec(text);
  return g ? { product: 'unknown', version: g[1] as string } : undefined;
}

/** RFC 5321 §4.3.1: `220 <domain> <text>`; the domain is the first word. */
function bannerHostOf(banner: string | undefined): string | undefined {
  const first = banner?.trim().split(/\s+/)[0]?.toLowerCase().replace(/\.$/, '');
  return first && /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(first) ? first : undefined;
}

const canonical = (name: string) => name.toLowerCase().replace(/\.$/, '');

async function reverseDnsOf(
  resolver: Resolver,
  address: string,
  family: 4 | 6,
  bannerHost: string,
): Promise<{ ptr: string[]; bannerHostConfirmed: boolean | 'unknown' }> {
  const name = reverseName(address);
  const key = addressKey(address);
  if (!name || !key) return { ptr: [], bannerHostConfirmed: false };
  const ptr = await resolver.query(name, 'PTR');
  if (ptr.status === 'unknown') return { ptr: [], bannerHostConfirmed: 'unknown' };
  const names = ptr.status === 'answer' ? ptr.records.map(canonical).slice(0, 10) : [];
  if (!names.includes(bannerHost)) return { ptr: names, bannerHostConfirmed: false };
  const forward = await resolver.query(bannerHost, family === 4 ? 'A' : 'AAAA');
  if (forward.status === 'unknown') return { ptr: names, bannerHostConfirmed: 'unknown' };
  const confirmed = forward.status === 'answer' && forward.records.some((r) => addressKey(r) === key);
  return { ptr: names, bannerHostConfirmed: confirmed };
}

function daneOutcome(outcome: DaneMatchOutcome): { matched: boolean; detail?: unknown } {
  if (typeof outcome === 'boolean') return { matched: outcome };
  return { matched: outcome.matched === true, detail: outcome };
}

function smtpHygiene(
  subject: string,
  probe: ProbedAddress,
  facts: MxProbeAddressFacts,
  findings: Finding[],
): void {
  const bannerText = probe.banner?.lines.join(' ') ?? '';
  const software = softwareInBanner(bannerText);
  if (software) facts.software = software;
  if (software?.version) {
    findings.push(
      S.version_disclosed.make(subject, `The greeting discloses ${software.product} ${software.version}.`, {
        banner: probe.banner?.lines[0] ?? '',
        product: software.product,
        version: software.version,
      }),
    );
  }
  const auth = probe.ehlo?.keywords.AUTH;
  if (auth !== undefined) {
    facts.authBeforeTls = auth;
    findings.push(
      S.auth_before_starttls.make(subject, `AUTH ${auth.join(' ')} is offered before STARTTLS.`, {
        mechanisms: auth,
        starttls: probe.starttls?.outcome ?? 'not_offered',
      }),
    );
  }
  if (probe.vrfy) {
    facts.vrfy = probe.vrfy.code;
    // RFC 5321 §3.5.3: 250/251 confirm the mailbox; 252 is the non-committal answer.
    if (probe.vrfy.code === 250 || probe.vrfy.code === 251) {
      findings.push(
        S.vrfy_enabled.make(
          subject,
          `VRFY postmaster answered ${probe.vrfy.code} ${probe.vrfy.lines[0] ?? ''}.`,
          {
            command: 'VRFY postmaster',
            reply: probe.vrfy,
          },
        ),
      );
    }
  }
  if (probe.expn) {
    facts.expn = probe.expn.code;
    if (probe.expn.code === 250) {
      findings.push(
        S.expn_enabled.make(
          subject,
          `EXPN postmaster answered ${probe.expn.code} ${probe.expn.lines[0] ?? ''}.`,
          {
            command: 'EXPN postmaster',
            reply: probe.expn,
          },
        ),
      );
    }
  }
  if (probe.relay) {
    facts.relay = {
      recipient: probe.relay.recipient,
      accepted: probe.relay.accepted,
      ...(probe.relay.rcptTo ? { rcptCode: probe.relay.rcptTo.code } : {}),
    };
    if (probe.relay.accepted) {
      findings.push(
        S.open_relay.make(
          subject,
          `RCPT TO:<${probe.relay.recipient}> from an unauthenticated client was accepted.`,
          {
            sender: probe.relay.sender,
            recipient: probe.relay.recipient,
            mailFrom: probe.relay.mailFrom,
            rcptTo: probe.relay.rcptTo,
          },
        ),
      );
    }
  }
}

function protocolFindings(
  subject: string,
  probe: ProbedAddress,
  facts: MxProbeAddressFacts,
  findings: Finding[],
): void {
  const versions = probe.versions;
  const negotiated = probe.tls?.protocol ?? null;
  let legacy: string[];
  let modern: boolean | undefined;
  let tls13: boolean | undefined;
  if (versions) {
    facts.versions = Object.fromEntries(
      Object.entries(versions).map(([v, r]) => [v, r?.outcome ?? 'untestable']),
    );
    legacy = LEGACY_VERSIONS.filter((v) => versions[v]?.outcome === 'accepted');
    const v12 = versions['TLSv1.2']?.outcome;
    const v13 = versions['TLSv1.3']?.outcome;
    modern =
      v12 === 'accepted' || v13 === 'accepted'
        ? true
        : v12 === 'rejected' && v13 === 'rejected'
          ? false
          : undefined;
    tls13 = v13 === 'accepted' ? true : v13 === 'rejected' ? false : undefined;
  } else {
    // Without per-version probes only the negotiated version is known.
    legacy = negotiated && (LEGACY_VERSIONS as readonly string[]).includes(negotiated) ? [negotiated] : [];
    modern =
      negotiated === 'TLSv1.2' || negotiated === 'TLSv1.3' ? true : legacy.length > 0 ? false : undefined;
    tls13 = negotiated === 'TLSv1.3' ? true : undefined;
  }
  if (legacy.length > 0) {
    findings.push(
      T.legacy_protocol.make(subject, `The server completes handshakes at ${legacy.join(' and ')}.`, {
        accepted: legacy,
        sslv3: versions?.SSLv3?.detail ?? 'not tested',
      }),
    );
  }
  if (modern === false) {
    findings.push(
      T.no_modern_protocol.make(subject, 'The server completes no handshake at TLS 1.2 or TLS 1.3.', {
        versions: facts.versions ?? { negotiated },
      }),
    );
  } else if (modern === true && tls13 === false) {
    findings.push(
      T.no_tls13.make(subject, 'The server does not complete a TLS 1.3 handshake.', {
        versions: facts.versions,
      }),
    );
  }

  const accepted: string[] = [];
  for (const category of WEAK_CATEGORIES) {
    const r = probe.ciphers?.[category];
    if (r?.outcome === 'accepted') accepted.push(`${category}${r.cipher ? ` (${r.cipher})` : ''}`);
  }
  facts.staticRsaAccepted = probe.ciphers?.static_rsa?.outcome === 'accepted';
  if (accepted.length > 0) {
    facts.weakCiphersAccepted = accepted;
    const negotiatedWeak = probe.tls
      ? isWeakSuite(probe.tls.cipher.standardName ?? probe.tls.cipher.name)
      : false;
    // The negotiated suite already raised weak_cipher in the session analysis; one finding is enough.
    if (!negotiatedWeak) {
      findings.push(
        T.weak_cipher.make(
          subject,
          `The server accepts weak suites when a client offers only those: ${accepted.join(', ')}.`,
          {
            accepted,
            notTestable: Object.entries(probe.ciphers ?? {})
              .filter(([, r]) => r?.outcome === 'not_testable')
              .map(([c]) => c),
          },
        ),
      );
    }
  }
}

function starttlsFinding(subject: string, starttls: ProbedAddress['starttls'], findings: Finding[]): void {
  if (!starttls) return;
  if (starttls.outcome === 'not_offered') {
    findings.push(T.no_starttls.make(subject, 'The server does not offer STARTTLS in its EHLO answer.', {}));
  } else if (starttls.outcome === 'refused' || starttls.outcome === 'handshake_failed') {
    findings.push(
      T.starttls_failed.make(
        subject,
        starttls.outcome === 'refused'
          ? `STARTTLS was answered ${starttls.reply?.code ?? '?'} instead of 220.`
          : `The TLS handshake after STARTTLS failed: ${starttls.error?.code ?? 'unknown error'}.`,
        { outcome: starttls.outcome, reply: starttls.reply ?? null, error: starttls.error ?? null },
      ),
    );
  }
}

async function analyseAddress(
  host: string,
  probe: ProbedAddress,
  ctx: MxProbeContext,
  findings: Finding[],
): Promise<MxProbeAddressFacts> {
  const subject = `${host} [${probe.address}]`;
  const facts: MxProbeAddressFacts = { address: probe.address, outcome: probe.outcome };
  if (probe.outcome === 'refused') {
    findings.push(
      S.address_not_public.make(
        subject,
        `${probe.address} is not a public address (${probe.refused?.verdict}); it was not probed.`,
        {
          verdict: probe.refused?.verdict ?? null,
          detail: probe.refused?.detail ?? null,
        },
      ),
    );
    return facts;
  }
  if (probe.outcome === 'untestable') {
    if (probe.untestable) facts.untestable = probe.untestable;
    findings.push(
      S.probe_untestable.make(
        subject,
        `The probe could not test ${probe.address}: ${probe.untestable?.reason ?? 'unknown'} at ${probe.untestable?.stage ?? '?'}.`,
        { ...probe.untestable },
      ),
    );
    if (probe.banner) facts.banner = probe.banner.lines[0] ?? '';
    return facts;
  }

  facts.banner = probe.banner?.lines[0] ?? '';
  const bannerHost = bannerHostOf(facts.banner);
  if (bannerHost) facts.bannerHost = bannerHost;
  facts.esmtp = probe.ehlo?.command === 'EHLO';
  facts.keywords = Object.keys(probe.ehlo?.keywords ?? {});
  facts.starttls = probe.starttls?.outcome ?? 'not_offered';
  starttlsFinding(subject, probe.starttls, findings);

  let daneEeAuthenticated = false;
  const dane = ctx.dane?.secure && ctx.dane.tlsa.length > 0 ? ctx.dane : undefined;
  if (dane) {
    if (!probe.tls) {
      facts.dane = { matched: false, detail: 'no TLS' };
      findings.push(
        T.dane_mismatch.make(
          subject,
          'Secure TLSA records exist, but the server does not complete STARTTLS.',
          {
            reason: 'no_tls',
            tlsa: dane.tlsa,
          },
        ),
      );
    } else {
      facts.dane = daneOutcome(dane.match(dane.tlsa, probe.tls.chainDer));
      if (!facts.dane.matched) {
        findings.push(
          T.dane_mismatch.make(
            subject,
            'No DNSSEC-secure TLSA record matches the certificate chain the server presents.',
            {
              reason: 'no_match',
              tlsa: dane.tlsa,
              match: facts.dane.detail ?? false,
            },
          ),
        );
      }
      // RFC 7672 §3.1.1: with DANE-EE(3) records only the key matters; names and dates do not.
      daneEeAuthenticated = facts.dane.matched && dane.tlsa.every((r) => r.usage === 3);
    }
  }

  if (probe.tls) {
    const session = analyseTlsSession(subject, host, probe.tls, {
      now: ctx.now,
      ...(ctx.expiryWarningDays ? { expiryWarningDays: ctx.expiryWarningDays } : {}),
      daneEeAuthenticated,
    });
    facts.tls = session.facts;
    facts.tlsValid = session.valid;
    findings.push(...session.findings);
    if (ctx.mtaSts?.mode === 'enforce' && !session.valid) mtaStsInvalid(subject, session.problems, findings);
  } else if (ctx.mtaSts?.mode === 'enforce') {
    mtaStsInvalid(subject, [`STARTTLS ${facts.starttls}`], findings);
  }
  protocolFindings(subject, probe, facts, findings);
  smtpHygiene(subject, probe, facts, findings);

  if (ctx.resolver && bannerHost) {
    facts.reverseDns = await reverseDnsOf(ctx.resolver, probe.address, probe.family, bannerHost);
    if (facts.reverseDns.bannerHostConfirmed === false) {
      findings.push(
        S.banner_hostname_mismatch.make(
          subject,
          facts.reverseDns.ptr.includes(bannerHost)
            ? `The greeting names ${bannerHost}, which is the PTR name of ${probe.address} but does not resolve back to it.`
            : `The greeting names ${bannerHost}; the PTR of ${probe.address} is ${facts.reverseDns.ptr.join(', ') || 'absent'}.`,
          { bannerHost, ptr: facts.reverseDns.ptr },
        ),
      );
    }
  }
  return facts;
}

function mtaStsInvalid(subject: string, problems: string[], findings: Finding[]): void {
  findings.push(
    T.mta_sts_invalid_tls.make(
      subject,
      `The MTA-STS policy enforces TLS, but this MX fails validation: ${problems.join('; ')}.`,
      {
        mode: 'enforce',
        problems,
      },
    ),
  );
}

function analyseService(
  host: string,
  service: ProbedService,
  ctx: MxProbeContext,
  findings: Finding[],
): MxProbeServiceFacts {
  const subject = `${host} [${service.address}]:${service.port}`;
  const facts: MxProbeServiceFacts = {
    address: service.address,
    port: service.port,
    service: service.service,
    transport: service.transport,
    outcome: service.outcome,
    ...(service.starttls ? { starttls: service.starttls.outcome } : {}),
  };
  if (service.outcome !== 'tested') return facts;
  if (service.transport === 'starttls' && service.starttls?.outcome === 'not_offered') {
    findings.push(
      T.plaintext_service.make(
        subject,
        `${service.service} on port ${service.port} accepts plaintext connections and offers no STARTTLS.`,
        {
          service: service.service,
          port: service.port,
          greeting: service.greeting ?? null,
        },
      ),
    );
  } else if (service.starttls) {
    starttlsFinding(subject, service.starttls, findings);
  }
  if (service.tls) {
    const session = analyseTlsSession(subject, host, service.tls, {
      now: ctx.now,
      ...(ctx.expiryWarningDays ? { expiryWarningDays: ctx.expiryWarningDays } : {}),
    });
    facts.tls = session.facts;
    findings.push(...session.findings);
  }
  return facts;
}

export async function analyseMxProbe(probe: MxProbeInput, ctx: MxProbeContext): Promise<MxProbeCheckResult> {
  const host = canonical(probe.host);
  const findings: Finding[] = [];
  if (ctx.mtaSts && ctx.mtaSts.mode !== 'none' && !ctx.mtaSts.mx.some((p) => mxMatches(host, p))) {
    findings.push(
      T.mta_sts_mx_not_covered.make(
        host,
        `The probed MX ${host} matches no mx pattern of the ${ctx.mtaSts.mode} policy.`,
        {
          mode: ctx.mtaSts.mode,
          patterns: [...ctx.mtaSts.mx],
        },
      ),
    );
  }
  const addresses: MxProbeAddressFacts[] = [];
  for (const address of probe.addresses) addresses.push(await analyseAddress(host, address, ctx, findings));
  const services = probe.services.map((s) => analyseService(host, s, ctx, findings));
  const facts: MxProbeFacts = {
    host,
    port: probe.port,
    ...(probe.startedAt ? { probedAt: probe.startedAt } : {}),
    addresses,
    services,
  };
  const untestable = probe.addresses.some((a) => a.outcome === 'untestable');
  const real = findings.filter((f) => f.code !== S.probe_untestable.code);
  return {
    check: 'smtp',
    status: untestable ? 'untestable' : real.length > 0 ? 'findings' : 'ok',
    facts,
    findings,
  };
}
