/**
 * What a DMARC record means for the checked domain (the policy applied to its mail, its
 * subdomains' policies) and the findings about the record's tags and policy strength.
 */

import type { Finding } from '../findings.ts';
import { clip } from '../shared/dns-name.ts';
import { dmarcFindings as F } from './dmarc-findings.ts';
import { appliedPolicies, type DmarcPolicy, type DmarcRecord, PCT_MAX, POLICY_STRENGTH } from './record.ts';

/** A hostile record yields at most this many findings of one kind; the rest are counted. */
export const MAX_FINDINGS_PER_KIND = 10;

export interface PolicyFacts {
  /** What receivers apply to mail whose From: domain is the checked domain; null: no DMARC. */
  effectivePolicy: DmarcPolicy | null;
  /** Which tag that came from. */
  policySource: 'p' | 'sp' | 'np' | null;
  /** For subdomains of the checked domain, when it is the Organizational Domain. */
  subdomainPolicy: DmarcPolicy | null;
  nonExistentSubdomainPolicy: DmarcPolicy | null;
  /** RFC 7489 §6.3 pct, 100 when absent; RFC 9989 receivers ignore it. */
  pct: number;
  /** RFC 9989 §4.7 t=y. */
  testing: boolean;
  usability: DmarcRecord['usability'];
}

export interface PolicyContext {
  domain: string;
  recordDomain: string;
  /** The Organizational Domain of the checked domain, when known. */
  organizationalDomain: string | null;
  record: DmarcRecord;
  /** Whether the checked domain exists (only asked when np could apply). */
  domainExists: boolean | null;
}

export function policyFacts(ctx: PolicyContext): PolicyFacts {
  const applied = appliedPolicies(ctx.record);
  const atOrg = ctx.recordDomain === ctx.organizationalDomain;
  let effectivePolicy: DmarcPolicy | null = null;
  let policySource: PolicyFacts['policySource'] = null;
  if (applied) {
    if (ctx.recordDomain === ctx.domain) {
      [effectivePolicy, policySource] = [applied.p, 'p'];
    } else if (ctx.domainExists === false && ctx.record.np !== null) {
      // RFC 9989 §4.10.1: np for an Author Domain that does not exist.
      [effectivePolicy, policySource] = [applied.np, 'np'];
    } else {
      [effectivePolicy, policySource] = [applied.sp, 'sp'];
    }
  }
  return {
    effectivePolicy,
    policySource,
    subdomainPolicy: applied && atOrg ? applied.sp : null,
    nonExistentSubdomainPolicy: applied && atOrg ? applied.np : null,
    pct: ctx.record.pct ?? PCT_MAX,
    testing: ctx.record.t === 'y',
    usability: ctx.record.usability,
  };
}

function capped<T>(items: T[], make: (item: T) => Finding, summary: (rest: number) => Finding): Finding[] {
  const out = items.slice(0, MAX_FINDINGS_PER_KIND).map(make);
  if (items.length > MAX_FINDINGS_PER_KIND) out.push(summary(items.length - MAX_FINDINGS_PER_KIND));
  return out;
}

/** Findings about the tags themselves: syntax, invalid values, unknown and removed tags. */
export function recordFindings(subject: string, record: DmarcRecord): Finding[] {
  const findings: Finding[] = [];
  const raw = clip(record.raw);
  const syntax = record.problems.filter((p) => p.kind === 'syntax');
  findings.push(
    ...capped(
      syntax,
      (p) =>
        F.syntax_error.make(subject, `DMARC record: ${p.reason}.`, { record: raw, text: p.text ?? null }),
      (rest) => F.syntax_error.make(subject, `DMARC record: ${rest} more syntax errors.`, { record: raw }),
    ),
  );
  const invalid = record.problems.flatMap((p) => (p.kind === 'invalid' ? [p] : []));
  findings.push(
    ...capped(
      invalid,
      (p) =>
        F.invalid_tag.make(subject, `DMARC tag ${p.tag}=${clip(p.value, 80)}: ${p.reason}.`, {
          tag: p.tag,
          value: clip(p.value, 256),
          reason: p.reason,
          record: raw,
        }),
      (rest) => F.invalid_tag.make(subject, `DMARC record: ${rest} more invalid values.`, { record: raw }),
    ),
  );
  const unknown = record.problems.flatMap((p) => (p.kind === 'unknown_tag' ? [p] : []));
  if (unknown.length > 0) {
    const names = unknown.slice(0, MAX_FINDINGS_PER_KIND).map((p) => p.tag);
    findings.push(
      F.unknown_tag.make(
        subject,
        `DMARC record has unknown tags, which receivers ignore: ${names.join(', ')}.`,
        {
          tags: names,
          count: unknown.length,
          record: raw,
        },
      ),
    );
  }
  const deprecated = record.problems.flatMap((p) => (p.kind === 'deprecated' ? [p] : []));
  if (deprecated.length > 0) {
    const items = deprecated
      .slice(0, MAX_FINDINGS_PER_KIND)
      .map((p) => ({ tag: p.tag, value: clip(p.value, 80), reason: p.reason }));
    findings.push(
      F.deprecated_tag.make(
        subject,
        `DMARC record uses syntax removed by RFC 9989: ${items.map((i) => `${i.tag}=${i.value}`).join(', ')}.`,
        { items, count: deprecated.length },
      ),
    );
  }
  return findings;
}

function weaker(a: DmarcPolicy, b: DmarcPolicy): boolean {
  return POLICY_STRENGTH[a] < POLICY_STRENGTH[b];
}

/** Findings about what the policy protects: strength, sampling, subdomains, reporting. */
export function policyFindings(ctx: PolicyContext, facts: PolicyFacts): Finding[] {
  const { domain, record } = ctx;
  const findings: Finding[] = [];
  const evidence = { record: clip(record.raw), recordDomain: ctx.recordDomain };
  if (record.usability === 'unusable') {
    findings.push(
      F.record_unusable.make(
        domain,
        `The DMARC record at _dmarc.${ctx.recordDomain} has no valid policy and no valid rua; receivers ignore it.`,
        evidence,
      ),
    );
    return findings;
  }
  const policy = facts.effectivePolicy;
  const why =
    record.usability === 'treated_as_none' ? ' (the policy tags are invalid, so receivers read p=none)' : '';
  if (policy === 'none') {
    findings.push(
      F.policy_none.make(domain, `DMARC policy for ${domain} is none${why}: failing mail is delivered.`, {
        ...evidence,
        source: facts.policySource,
      }),
    );
  } else if (policy === 'quarantine') {
    findings.push(
      F.policy_quarantine.make(domain, `DMARC policy for ${domain} is quarantine.`, {
        ...evidence,
        source: facts.policySource,
      }),
    );
  }
  if (policy !== 'none' && facts.pct < PCT_MAX) {
    findings.push(
      F.pct_partial.make(
        domain,
        `pct=${facts.pct}: RFC 7489 receivers apply ${policy} to only ${facts.pct}% of failing mail.`,
        { ...evidence, pct: facts.pct },
      ),
    );
  }
  if (facts.testing && policy !== 'none') {
    findings.push(
      F.testing_mode.make(domain, `t=y: RFC 9989 receivers apply one level less than ${policy}.`, evidence),
    );
  }
  const applied = appliedPolicies(record);
  if (applied && record.usability === 'valid' && ctx.recordDomain === ctx.organizationalDomain) {
    if (weaker(applied.sp, applied.p)) {
      findings.push(
        F.subdomain_policy_weaker.make(
          domain,
          `Subdomains get sp=${applied.sp}, weaker than p=${applied.p}.`,
          { ...evidence, p: applied.p, sp: applied.sp },
        ),
      );
    }
    if (record.np !== null && weaker(applied.np, applied.sp)) {
      findings.push(
        F.np_weaker.make(domain, `Non-existent subdomains get np=${applied.np}, weaker than ${applied.sp}.`, {
          ...evidence,
          np: applied.np,
          sp: applied.sp,
        }),
      );
    }
  }
  if (record.rua.length === 0) {
    findings.push(
      F.no_rua.make(domain, 'The DMARC record asks for no aggregate reports (no valid rua).', evidence),
    );
  }
  if (record.ruf.length > 0) {
    findings.push(
      F.ruf_present.make(
        domain,
        `Failure reports are requested at ${record.ruf
          .slice(0, 3)
          .map((u) => u.uri)
          .join(', ')}.`,
        {
          ...evidence,
          ruf: record.ruf.slice(0, MAX_FINDINGS_PER_KIND).map((u) => u.uri),
        },
      ),
    );
  }
  if (ctx.recordDomain !== domain) {
    findings.push(
      F.inherited_from_org_domain.make(
        domain,
        `${domain} has no DMARC record of its own; the record of ${ctx.recordDomain} applies (${facts.policySource}=${policy}).`,
        evidence,
      ),
    );
  }
  return findings;
}
