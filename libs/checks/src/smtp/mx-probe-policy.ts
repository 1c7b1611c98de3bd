/**
 * MTA-STS and DANE consistency: the probed MX must be covered by the policy's mx patterns, an
 * enforced policy needs a valid certificate, and DNSSEC-secure TLSA records must match the chain.
 */
import type { Finding } from '../findings.ts';
import { mxMatches } from '../mta-sts/policy.ts';
import { tlsFindings as T } from '../tls/tls-findings.ts';
import type { DaneInput, DaneMatchOutcome, MxProbeAddressFacts, MxProbeContext } from './mx-probe-types.ts';
import type { ProbedAddress } from './probe-input.ts';

/** RFC 8461 §4.1: a testing or enforced policy must name the MX among its mx patterns. */
export function mtaStsCoverage(host: string, mtaSts: MxProbeContext['mtaSts'], findings: Finding[]): void {
  if (mtaSts && mtaSts.mode !== 'none' && !mtaSts.mx.some((p) => mxMatches(host, p))) {
    findings.push(
      T.mta_sts_mx_not_covered.make(
        host,
        `The probed MX ${host} matches no mx pattern of the ${mtaSts.mode} policy.`,
        {
          mode: mtaSts.mode,
          patterns: [...mtaSts.mx],
        },
      ),
    );
  }
}

export function mtaStsInvalid(subject: string, problems: string[], findings: Finding[]): void {
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

function daneOutcome(outcome: DaneMatchOutcome): { matched: boolean; detail?: unknown } {
  if (typeof outcome === 'boolean') return { matched: outcome };
  return { matched: outcome.matched === true, detail: outcome };
}

/**
 * Matches the presented chain against DNSSEC-secure TLSA records (insecure ones are ignored).
 * Returns whether a DANE-EE match alone authenticates the server, for the session analysis.
 */
export function daneFindings(
  subject: string,
  probe: ProbedAddress,
  input: DaneInput | undefined,
  facts: MxProbeAddressFacts,
  findings: Finding[],
): boolean {
  const dane = input?.secure && input.tlsa.length > 0 ? input : undefined;
  if (!dane) return false;
  if (!probe.tls) {
    facts.dane = { matched: false, detail: 'no TLS' };
    findings.push(
      T.dane_mismatch.make(subject, 'Secure TLSA records exist, but the server does not complete STARTTLS.', {
        reason: 'no_tls',
        tlsa: dane.tlsa,
      }),
    );
    return false;
  }
  const outcome = daneOutcome(dane.match(dane.tlsa, probe.tls.chainDer));
  facts.dane = outcome;
  if (!outcome.matched) {
    findings.push(
      T.dane_mismatch.make(
        subject,
        'No DNSSEC-secure TLSA record matches the certificate chain the server presents.',
        {
          reason: 'no_match',
          tlsa: dane.tlsa,
          match: outcome.detail ?? false,
        },
      ),
    );
  }
  // RFC 7672 §3.1.1: with DANE-EE(3) records only the key matters; names and dates do not.
  return outcome.matched && dane.tlsa.every((r) => r.usage === 3);
}
