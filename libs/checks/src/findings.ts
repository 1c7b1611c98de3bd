/**
 * Findings are the product's vocabulary (DESIGN.md §3). Each check declares its finding
 * definitions with `defineFindings`; `catalogue.ts` gathers them all, and `docs/findings.md` is
 * generated from that catalogue. Check results are data: a broken SPF record is a finding, never a
 * thrown error.
 */
export const severities = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];

export function severityRank(severity: Severity): number {
  return severities.indexOf(severity);
}

export type CheckName =
  | 'mx'
  | 'spf'
  | 'dkim'
  | 'dmarc'
  | 'mta_sts'
  | 'tls_rpt'
  | 'bimi'
  | 'dnssec'
  | 'dane'
  | 'tls'
  | 'smtp'
  | 'blocklist'
  | 'message';

export interface FindingDefinition {
  /** `<check>.<problem>`, snake_case, stable forever. */
  code: string;
  check: CheckName;
  severity: Severity;
  title: string;
  /** What a mail admin should do, in plain words. */
  remediation: string;
  /** The RFC section the rule comes from, e.g. `RFC 7208 §4.6.4`. */
  reference?: string;
}

export interface Finding {
  code: string;
  severity: Severity;
  /** What the finding is about: the domain, an MX host, an IP, a selector, an SPF node. */
  subject: string;
  /** One sentence with the concrete values. */
  message: string;
  /** The records and values that prove it, in the RFC's words. */
  evidence: Record<string, unknown>;
}

export interface CheckResult<Facts> {
  check: CheckName;
  /** `unknown` when DNS could not answer: no verdict was reached, and nothing here is a regression. */
  status: 'ok' | 'findings' | 'unknown';
  facts: Facts;
  findings: Finding[];
}

/**
 * Declares the findings of one check. Returns, per problem, a definition plus a `make` helper so a
 * check can only emit codes it has declared.
 */
export function defineFindings<K extends string>(
  check: CheckName,
  defs: Record<K, Omit<FindingDefinition, 'code' | 'check'>>,
) {
  const out = {} as Record<
    K,
    FindingDefinition & {
      make(subject: string, message: string, evidence?: Record<string, unknown>): Finding;
    }
  >;
  for (const key of Object.keys(defs) as K[]) {
    const def = defs[key];
    const code = `${check}.${key}`;
    out[key] = {
      ...def,
      code,
      check,
      make: (subject, message, evidence = {}) => ({
        code,
        severity: def.severity,
        subject,
        message,
        evidence,
      }),
    };
  }
  return out;
}

export function resultOf<Facts>(
  check: CheckName,
  facts: Facts,
  findings: Finding[],
  unknown = false,
): CheckResult<Facts> {
  return { check, status: unknown ? 'unknown' : findings.length > 0 ? 'findings' : 'ok', facts, findings };
}
