/**
 * DMARC aggregate reports (RFC 7489 Appendix C; RFC 9990, the DMARCbis aggregate format), after
 * normalisation: names in camelCase, enumerations lower case, domains lower case without a
 * trailing dot, IPs canonical (RFC 5952), timestamps as Dates, absent optional values as null.
 * Enumerated values outside the RFC are kept (lower-cased) rather than dropped, hence the
 * `(string & {})` in the unions.
 */
export type Alignment = 'r' | 's';
export type PolicyAction = 'none' | 'quarantine' | 'reject' | (string & {});
/** RFC 9990 adds `pass` (the policy was not applied because the message passed). */
export type Disposition = 'none' | 'quarantine' | 'reject' | 'pass' | (string & {});
export type DmarcResult = 'pass' | 'fail' | (string & {});
export type DkimResult =
  | 'none'
  | 'pass'
  | 'fail'
  | 'policy'
  | 'neutral'
  | 'temperror'
  | 'permerror'
  | (string & {});
export type SpfResult =
  | 'none'
  | 'neutral'
  | 'pass'
  | 'fail'
  | 'softfail'
  | 'temperror'
  | 'permerror'
  | (string & {});
export type SpfScope = 'mfrom' | 'helo' | (string & {});

export interface PolicyPublished {
  domain: string;
  adkim: Alignment | null;
  aspf: Alignment | null;
  p: PolicyAction | null;
  sp: PolicyAction | null;
  /** RFC 9990 removed pct; RFC 7489 reporters still send it. */
  pct: number | null;
  /** `np` (RFC 9990): the policy for non-existent subdomains. */
  np: PolicyAction | null;
  fo: string | null;
  /** RFC 9990 `t` tag echoed as `testing`: y or n. */
  testing: 'y' | 'n' | null;
  discoveryMethod: string | null;
}

export interface AggregateReportHeader {
  /** `rfc9990` when the root is in the urn:ietf:params:xml:ns:dmarc-2.0 namespace. */
  format: 'rfc7489' | 'rfc9990';
  version: string | null;
  orgName: string;
  email: string | null;
  extraContactInfo: string | null;
  reportId: string;
  dateRange: { begin: Date; end: Date };
  errors: string[];
  generator: string | null;
  policyPublished: PolicyPublished;
}

export interface PolicyOverrideReason {
  type: string | null;
  comment: string | null;
}

export interface DkimAuthResult {
  domain: string | null;
  selector: string | null;
  result: DkimResult | null;
  humanResult: string | null;
}

export interface SpfAuthResult {
  domain: string | null;
  scope: SpfScope | null;
  result: SpfResult | null;
  humanResult: string | null;
}

export interface AggregateRecord {
  /** Canonical text (RFC 5952 for IPv6; IPv4-mapped IPv6 shown as IPv4); null when unparsable. */
  sourceIp: string | null;
  count: number;
  policyEvaluated: {
    disposition: Disposition | null;
    /** DMARC-aligned DKIM and SPF results (RFC 7489 Appendix C `DMARCResultType`). */
    dkim: DmarcResult | null;
    spf: DmarcResult | null;
    reasons: PolicyOverrideReason[];
  };
  identifiers: {
    headerFrom: string | null;
    envelopeFrom: string | null;
    envelopeTo: string | null;
  };
  authResults: {
    dkim: DkimAuthResult[];
    spf: SpfAuthResult[];
  };
}

export interface AggregateStats {
  /** Records emitted. */
  recordCount: number;
  /** Sum of their counts: the messages the report speaks for. */
  messageCount: number;
  /** Records dropped as empty (no source IP and a zero count). */
  skippedRecords: number;
  /** The first warnings (odd values kept or dropped), and how many there were in all. */
  warnings: string[];
  warningCount: number;
}

/** A whole report in memory: what `parseReports` returns; streaming callers never build one. */
export interface AggregateReport extends AggregateReportHeader {
  records: AggregateRecord[];
  stats: AggregateStats;
}
