/**
 * TLS of one probed address beyond the negotiated session: STARTTLS offered and completed, the
 * protocol versions and weak cipher categories the server accepts when offered only those.
 */
import type { Finding } from '../findings.ts';
import { isWeakSuite } from '../tls/analyse-tls.ts';
import { tlsFindings as T } from '../tls/tls-findings.ts';
import type { MxProbeAddressFacts } from './mx-probe-types.ts';
import type { ProbedAddress } from './probe-input.ts';

const LEGACY_VERSIONS = ['TLSv1', 'TLSv1.1'] as const;
const WEAK_CATEGORIES = ['null', 'anonymous', 'export', 'des', 'rc4', '3des'] as const;

export function protocolFindings(
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

export function starttlsFinding(
  subject: string,
  starttls: ProbedAddress['starttls'],
  findings: Finding[],
): void {
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
