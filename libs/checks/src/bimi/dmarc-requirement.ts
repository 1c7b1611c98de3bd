/**
 * BIMI indicators are only shown for mail protected by DMARC at enforcement (the BIMI draft's
 * receiver requirements; the BIMI Group's implementation guide): the policy applied to the domain
 * is quarantine or reject, applied to all mail (pct=100 for RFC 7489 receivers, no RFC 9989
 * testing flag), and the Organizational Domain does not weaken subdomains to sp=none.
 *
 * The DMARC check result is the input, so DMARC is evaluated once per scan.
 */
import type { DmarcFacts } from '../dmarc/dmarc.ts';
import type { CheckResult } from '../findings.ts';

export interface DmarcEnforcement {
  /** Null when the DMARC result was unknown: no verdict. */
  enforced: boolean | null;
  /** Why not, in words; empty when enforced. */
  reasons: string[];
}

export function dmarcEnforcement(dmarc: CheckResult<DmarcFacts>): DmarcEnforcement {
  const facts = dmarc.facts;
  if (dmarc.status === 'unknown' && !facts.effectivePolicy) return { enforced: null, reasons: [] };
  const reasons: string[] = [];
  const policy = facts.effectivePolicy ?? null;
  if (policy === null) reasons.push('the domain has no usable DMARC policy');
  else if (policy === 'none') reasons.push('the DMARC policy is p=none');
  if (policy !== null && policy !== 'none') {
    if ((facts.pct ?? 100) < 100) reasons.push(`the DMARC policy applies to pct=${facts.pct}% of mail`);
    if (facts.testing) reasons.push('the DMARC record is in testing mode (t=y)');
  }
  if (facts.subdomainPolicy === 'none' && policy !== 'none')
    reasons.push('the DMARC record sets sp=none for subdomains');
  return { enforced: reasons.length === 0, reasons };
}
