/**
 * Pure judgement of one TLS session the MX probe saw: the certificate chain (trust as OpenSSL
 * verified it, the MX name per RFC 6125, validity dates against the injected clock, keys and
 * signatures) and the negotiated parameters (weak suites, forward secrecy). The probe records; this
 * decides.
 */
import type { Finding } from '../findings.ts';
import type { ProbeTls } from '../smtp/probe-input.ts';
import {
  type CertificateSummary,
  summariseCertificate,
  weakKeyReason,
  weakSignatureReason,
} from './certificate.ts';
import { certificateNamesHost } from './hostname.ts';
import { tlsFindings as F } from './tls-findings.ts';

/** Warning windows, widest first: `cert_expiring`, `cert_expiring_soon`, `cert_expiring_imminent`. */
export const DEFAULT_EXPIRY_WARNING_DAYS: readonly [number, number, number] = [30, 14, 7];
const DAY_MS = 86_400_000;

/** OpenSSL verify codes that are about dates, judged from the dates themselves instead. */
const DATE_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
/** OpenSSL verify codes that mean "the leaf signs itself". */
const SELF_SIGNED_ERRORS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT']);

/** Suites RFC 9325 §4.1 and RFC 7465 forbid: NULL, anonymous, export, DES, 3DES, RC4, MD5 MACs. */
const WEAK_SUITE = /NULL|anon|^ADH-|^AECDH-|EXPORT|^EXP-|_DES_|^DES-|3DES|DES-CBC3|RC4|_MD5$|-MD5$/i;

export function isWeakSuite(name: string): boolean {
  return WEAK_SUITE.test(name);
}

/** TLS 1.3 always has forward secrecy; before it, only (EC)DHE key exchange has. */
export function hasForwardSecrecy(tls: Pick<ProbeTls, 'protocol' | 'cipher' | 'ephemeralKey'>): boolean {
  if (tls.protocol === 'TLSv1.3') return true;
  const standard = tls.cipher.standardName ?? '';
  if (/^TLS_(EC)?DHE_/.test(standard)) return true;
  if (/^(EC)?DHE-/.test(tls.cipher.name)) return true;
  return tls.ephemeralKey !== undefined && /^(EC)?DH$/.test(tls.ephemeralKey.type);
}

export interface TlsAnalysisContext {
  now: Date;
  expiryWarningDays?: readonly [number, number, number];
  /**
   * Set when DANE-EE(3) TLSA records authenticated this exact certificate: RFC 7672 §3.1.1 says
   * such a certificate's names, issuer and dates are not checked, so those findings are not raised.
   */
  daneEeAuthenticated?: boolean;
}

export interface TlsFacts {
  protocol: string | null;
  cipher: string;
  forwardSecrecy: boolean;
  authorized: boolean;
  authorizationError?: string;
  nameMatches: boolean;
  chain: CertificateSummary[];
  /** Days until the leaf expires (negative when expired). */
  leafDaysLeft?: number;
}

export interface TlsAnalysis {
  facts: TlsFacts;
  findings: Finding[];
  /** TLS that a validating sender (MTA-STS) accepts: trusted, names the MX, within its dates. */
  valid: boolean;
  problems: string[];
}

function describe(cert: CertificateSummary): Record<string, unknown> {
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprint256: cert.fingerprint256,
  };
}

function dateFindings(
  subject: string,
  chain: CertificateSummary[],
  ctx: TlsAnalysisContext,
  findings: Finding[],
  problems: string[],
): void {
  const now = ctx.now.getTime();
  for (const [depth, cert] of chain.entries()) {
    const notAfter = Date.parse(cert.notAfter);
    const notBefore = Date.parse(cert.notBefore);
    if (notAfter < now) {
      problems.push(`certificate at depth ${depth} expired ${cert.notAfter}`);
      findings.push(
        F.cert_expired.make(
          subject,
          `The certificate ${cert.subject} (depth ${depth}) expired on ${cert.notAfter}.`,
          {
            depth,
            ...describe(cert),
          },
        ),
      );
    } else if (notBefore > now) {
      problems.push(`certificate at depth ${depth} not valid before ${cert.notBefore}`);
      findings.push(
        F.cert_not_yet_valid.make(
          subject,
          `The certificate ${cert.subject} (depth ${depth}) is not valid before ${cert.notBefore}.`,
          { depth, ...describe(cert) },
        ),
      );
    }
  }
  const leaf = chain[0];
  if (!leaf) return;
  const daysLeft = (Date.parse(leaf.notAfter) - now) / DAY_MS;
  if (daysLeft < 0) return;
  const [wide, middle, narrow] = ctx.expiryWarningDays ?? DEFAULT_EXPIRY_WARNING_DAYS;
  // One finding per certificate: the narrowest window it is in. Entering a narrower window is a
  // new code, so monitoring sees it as a new event.
  const def =
    daysLeft <= narrow
      ? F.cert_expiring_imminent
      : daysLeft <= middle
        ? F.cert_expiring_soon
        : daysLeft <= wide
          ? F.cert_expiring
          : undefined;
  if (!def) return;
  const windowDays = daysLeft <= narrow ? narrow : daysLeft <= middle ? middle : wide;
  findings.push(
    def.make(
      subject,
      `The certificate ${leaf.subject} expires on ${leaf.notAfter} (${Math.floor(daysLeft)} days).`,
      {
        daysLeft: Math.floor(daysLeft),
        windowDays,
        ...describe(leaf),
      },
    ),
  );
}

/** `subject` names the finding target (`mx.example.com [192.0.2.1]`); `host` is the MX name. */
export function analyseTlsSession(
  subject: string,
  host: string,
  tls: ProbeTls,
  ctx: TlsAnalysisContext,
): TlsAnalysis {
  const findings: Finding[] = [];
  const problems: string[] = [];
  const chain = tls.chainDer
    .map(summariseCertificate)
    .filter((c): c is CertificateSummary => c !== undefined);
  const leaf = chain[0];
  const cipher = tls.cipher.standardName ?? tls.cipher.name;
  const forwardSecrecy = hasForwardSecrecy(tls);
  const nameMatches = leaf ? certificateNamesHost(host, leaf) : false;
  const facts: TlsFacts = {
    protocol: tls.protocol,
    cipher,
    forwardSecrecy,
    authorized: tls.authorized,
    ...(tls.authorizationError ? { authorizationError: tls.authorizationError } : {}),
    nameMatches,
    chain,
    ...(leaf ? { leafDaysLeft: Math.floor((Date.parse(leaf.notAfter) - ctx.now.getTime()) / DAY_MS) } : {}),
  };

  if (isWeakSuite(cipher) || isWeakSuite(tls.cipher.name)) {
    findings.push(
      F.weak_cipher.make(subject, `A default client negotiated the weak suite ${cipher}.`, {
        negotiated: cipher,
        protocol: tls.protocol,
      }),
    );
  }
  if (!forwardSecrecy) {
    findings.push(
      F.no_forward_secrecy.make(
        subject,
        `A default client negotiated ${cipher}, a key exchange without forward secrecy.`,
        {
          negotiated: cipher,
          protocol: tls.protocol,
        },
      ),
    );
  }
  if (!leaf) {
    problems.push('no certificate');
    findings.push(
      F.cert_untrusted.make(subject, 'The server presented no certificate that could be read.', {
        authorizationError: tls.authorizationError ?? null,
      }),
    );
    return { facts, findings, valid: false, problems };
  }

  for (const [depth, cert] of chain.entries()) {
    const weakKey = weakKeyReason(cert.key);
    if (weakKey) {
      findings.push(
        F.cert_weak_key.make(
          subject,
          `The certificate ${cert.subject} (depth ${depth}) has a weak key: ${weakKey}.`,
          {
            depth,
            key: cert.key,
            ...describe(cert),
          },
        ),
      );
    }
    // A root's signature on itself is never checked by anyone, so its algorithm does not matter.
    const isRoot = depth > 0 && cert.selfSigned;
    const weakSignature = isRoot ? undefined : weakSignatureReason(cert.signature);
    if (weakSignature) {
      findings.push(
        F.cert_weak_signature.make(
          subject,
          `The certificate ${cert.subject} (depth ${depth}) is signed with ${weakSignature}.`,
          { depth, signature: cert.signature, ...describe(cert) },
        ),
      );
    }
  }

  if (ctx.daneEeAuthenticated) return { facts, findings, valid: true, problems };

  const before = findings.length;
  dateFindings(subject, chain, ctx, findings, problems);
  const dateProblem = findings
    .slice(before)
    .some((f) => f.code === F.cert_expired.code || f.code === F.cert_not_yet_valid.code);

  const selfSigned = leaf.selfSigned || SELF_SIGNED_ERRORS.has(tls.authorizationError ?? '');
  if (!tls.authorized && selfSigned) {
    problems.push('self-signed certificate');
    findings.push(
      F.cert_self_signed.make(subject, `The certificate ${leaf.subject} is self-signed.`, {
        authorizationError: tls.authorizationError ?? null,
        ...describe(leaf),
      }),
    );
  } else if (!tls.authorized && !(DATE_ERRORS.has(tls.authorizationError ?? '') && dateProblem)) {
    problems.push(`chain not trusted (${tls.authorizationError ?? 'unknown'})`);
    findings.push(
      F.cert_untrusted.make(
        subject,
        `The certificate chain of ${leaf.subject} does not verify: ${tls.authorizationError ?? 'unknown error'}.`,
        {
          authorizationError: tls.authorizationError ?? null,
          chain: chain.map((c) => ({ subject: c.subject, issuer: c.issuer })),
        },
      ),
    );
  }
  if (!nameMatches) {
    problems.push(`certificate does not name ${host}`);
    findings.push(
      F.cert_name_mismatch.make(
        subject,
        `The certificate names ${(leaf.dnsNames.length > 0 ? leaf.dnsNames : [leaf.commonName ?? '(nothing)']).join(', ')}, not the MX host ${host}.`,
        { host, dnsNames: leaf.dnsNames, commonName: leaf.commonName ?? null },
      ),
    );
  }
  return { facts, findings, valid: problems.length === 0, problems };
}
