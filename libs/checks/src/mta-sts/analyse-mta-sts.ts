/**
 * The MTA-STS check (RFC 8461): the `_mta-sts` TXT record, the policy fetched over HTTPS, and
 * whether the policy covers the domain's MX hosts. Pure: DNS comes through the injected
 * `Resolver`, and the HTTPS fetch through `fetchPolicy` (libs/net's guarded `fetchHttps` in the
 * product, a stub in unit tests).
 */
import type { Resolver } from '@mailwarden/core';
import { type CheckResult, type Finding, resultOf } from '../findings.ts';
import { mtaStsFindings as F } from './mta-sts-findings.ts';
import { MTA_STS_MAX_AGE_SECONDS, mxMatches, parsePolicy, type StsPolicy } from './policy.ts';
import { isStsCandidate, parseStsRecord, txtText } from './record.ts';

/** RFC 8461 §3.3: senders SHOULD cap the policy body (64 KiB recommended). */
export const MTA_STS_MAX_POLICY_BYTES = 64 * 1024;
/** RFC 8461 §3.3: senders SHOULD time out the fetch ("a minute is recommended"). */
export const MTA_STS_FETCH_TIMEOUT_MS = 60_000;
/** Below a day a cached policy lapses between most senders' deliveries; RFC 8461 §3.2 expects weeks. */
export const MTA_STS_MIN_RECOMMENDED_MAX_AGE_SECONDS = 86_400;

/**
 * What the policy fetch produced. Structurally what libs/net's `fetchHttps` returns, so the
 * check needs no import of the network library.
 */
export type PolicyFetchResult =
  | {
      status: 'ok';
      httpStatus: number;
      contentType?: string | undefined;
      body: string | Uint8Array;
      tls?:
        | {
            certificate?: { validTo?: string; subject?: string; issuer?: string; subjectAltNames?: string[] };
          }
        | undefined;
    }
  | {
      status: 'error';
      /** e.g. ssrf_refused, dns_unknown, dns_no_address, tls_error, timeout, too_large, redirect. */
      reason: string;
      detail?: string;
      code?: string;
      httpStatus?: number;
      location?: string;
    };

export type FetchPolicy = (url: string) => Promise<PolicyFetchResult>;

export interface AnalyseMtaStsInput {
  domain: string;
  resolver: Resolver;
  fetchPolicy: FetchPolicy;
  /** The domain's MX hosts (from the MX check). When omitted, coverage is not judged. */
  mxHosts?: readonly string[];
}

export interface MtaStsFacts {
  domain: string;
  policyUrl: string;
  /** Every TXT record at `_mta-sts.<domain>`, strings joined. */
  records: string[];
  id?: string;
  recordValid: boolean;
  fetch?: {
    status: 'ok' | 'error';
    httpStatus?: number;
    contentType?: string;
    reason?: string;
    code?: string;
    certificateValidTo?: string;
  };
  policy?: StsPolicy;
  /** For each MX host: the pattern that covers it, or null. */
  coverage?: { host: string; matchedBy: string | null }[];
}

/** Network failures that say nothing about the domain until a second run confirms them. */
const TRANSIENT = new Set([
  'timeout',
  'connection_refused',
  'connection_reset',
  'unreachable',
  'network_error',
]);

export function policyUrl(domain: string): string {
  return `https://mta-sts.${domain}/.well-known/mta-sts.txt`;
}

function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
}

function judgeRecord(domain: string, records: string[], findings: Finding[], facts: MtaStsFacts): void {
  const subject = `_mta-sts.${domain}`;
  const candidates = records.filter(isStsCandidate);
  if (candidates.length > 1) {
    findings.push(
      F.multiple_records.make(subject, `${candidates.length} TXT records at ${subject} begin with v=STSv1.`, {
        records: candidates,
      }),
    );
    return;
  }
  if (candidates.length === 0) {
    findings.push(
      F.txt_syntax_error.make(
        subject,
        `No TXT record at ${subject} begins with "v=STSv1;", so senders discard them all.`,
        {
          records,
        },
      ),
    );
    return;
  }
  const parsed = parseStsRecord(candidates[0] as string);
  if (!parsed.ok) {
    findings.push(
      F.txt_syntax_error.make(subject, `The record at ${subject} is malformed: ${parsed.error}.`, {
        record: candidates[0],
        error: parsed.error,
      }),
    );
    return;
  }
  facts.id = parsed.id;
  facts.recordValid = true;
}

function judgePolicy(
  input: AnalyseMtaStsInput,
  domain: string,
  policy: StsPolicy,
  findings: Finding[],
  facts: MtaStsFacts,
): void {
  const host = `mta-sts.${domain}`;
  if (policy.duplicates.length > 0) {
    findings.push(
      F.policy_duplicate_field.make(
        host,
        `The policy repeats ${[...new Set(policy.duplicates)].join(', ')}; senders use the first value.`,
        {
          fields: policy.duplicates,
        },
      ),
    );
  }
  if (policy.mode === 'testing')
    findings.push(
      F.mode_testing.make(domain, `MTA-STS for ${domain} is in testing mode.`, { mode: 'testing' }),
    );
  if (policy.mode === 'none')
    findings.push(F.mode_none.make(domain, `MTA-STS for ${domain} has mode none.`, { mode: 'none' }));
  if (policy.maxAge > MTA_STS_MAX_AGE_SECONDS) {
    findings.push(
      F.max_age_too_long.make(host, `max_age ${policy.maxAge} exceeds ${MTA_STS_MAX_AGE_SECONDS} seconds.`, {
        maxAge: policy.maxAge,
        limit: MTA_STS_MAX_AGE_SECONDS,
      }),
    );
  } else if (policy.maxAge < MTA_STS_MIN_RECOMMENDED_MAX_AGE_SECONDS) {
    findings.push(
      F.max_age_too_short.make(host, `max_age ${policy.maxAge} is under a day.`, {
        maxAge: policy.maxAge,
        recommendedAtLeast: MTA_STS_MIN_RECOMMENDED_MAX_AGE_SECONDS,
      }),
    );
  }
  if (policy.mode === 'none' || !input.mxHosts) return;
  facts.coverage = input.mxHosts.map((mx) => ({
    host: mx,
    matchedBy: policy.mx.find((p) => mxMatches(mx, p)) ?? null,
  }));
  for (const c of facts.coverage) {
    if (c.matchedBy !== null) continue;
    findings.push(
      F.mx_not_covered.make(
        c.host,
        `MX ${c.host} matches no mx pattern of the ${policy.mode} policy (${policy.mx.join(', ')}).`,
        {
          mx: c.host,
          patterns: policy.mx,
          mode: policy.mode,
        },
      ),
    );
  }
}

export async function analyseMtaSts(input: AnalyseMtaStsInput): Promise<CheckResult<MtaStsFacts>> {
  const domain = input.domain.toLowerCase().replace(/\.$/, '');
  const findings: Finding[] = [];
  const facts: MtaStsFacts = { domain, policyUrl: policyUrl(domain), records: [], recordValid: false };
  let unknown = false;
  const done = () => resultOf('mta_sts', facts, findings, unknown);

  const txt = await input.resolver.query(`_mta-sts.${domain}`, 'TXT');
  if (txt.status === 'unknown') {
    unknown = true;
    findings.push(
      F.lookup_unknown.make(
        `_mta-sts.${domain}`,
        `TXT lookup for _mta-sts.${domain} did not answer (${txt.reason}).`,
        { reason: txt.reason },
      ),
    );
    return done();
  }
  if (txt.status !== 'answer' || txt.records.length === 0) {
    findings.push(
      F.missing.make(domain, `${domain} publishes no MTA-STS record at _mta-sts.${domain}.`, {
        rcode: txt.status,
      }),
    );
    return done();
  }
  facts.records = txt.records.map(txtText);
  judgeRecord(domain, facts.records, findings, facts);

  // The policy is fetched even when the record is broken: the admin means to run MTA-STS, and
  // the whole diagnosis in one run saves a round of fixes.
  const host = `mta-sts.${domain}`;
  const fetched = await input.fetchPolicy(facts.policyUrl);
  if (fetched.status === 'error') {
    facts.fetch = {
      status: 'error',
      reason: fetched.reason,
      ...(fetched.code ? { code: fetched.code } : {}),
      ...(fetched.httpStatus ? { httpStatus: fetched.httpStatus } : {}),
    };
    if (fetched.reason === 'redirect') {
      findings.push(
        F.policy_redirect.make(
          host,
          `${facts.policyUrl} answers HTTP ${fetched.httpStatus ?? '3xx'} to ${fetched.location ?? '(no Location)'}.`,
          {
            httpStatus: fetched.httpStatus,
            location: fetched.location,
          },
        ),
      );
    } else if (fetched.reason === 'dns_unknown') {
      unknown = true;
      findings.push(
        F.lookup_unknown.make(host, `Address lookup for ${host} did not answer.`, { detail: fetched.detail }),
      );
    } else {
      findings.push(
        F.policy_fetch_failed.make(
          host,
          `Fetching ${facts.policyUrl} failed: ${fetched.reason}${fetched.code ? ` (${fetched.code})` : ''}.`,
          {
            reason: fetched.reason,
            ...(fetched.code ? { code: fetched.code } : {}),
            ...(fetched.detail ? { detail: fetched.detail } : {}),
            transient: TRANSIENT.has(fetched.reason),
          },
        ),
      );
    }
    return done();
  }

  const contentType = mediaType(fetched.contentType);
  facts.fetch = {
    status: 'ok',
    httpStatus: fetched.httpStatus,
    ...(fetched.contentType ? { contentType: fetched.contentType } : {}),
    ...(fetched.tls?.certificate?.validTo ? { certificateValidTo: fetched.tls.certificate.validTo } : {}),
  };
  if (fetched.httpStatus !== 200) {
    findings.push(
      F.policy_fetch_failed.make(host, `${facts.policyUrl} answers HTTP ${fetched.httpStatus}, not 200.`, {
        reason: 'http_status',
        httpStatus: fetched.httpStatus,
        transient: fetched.httpStatus >= 500,
      }),
    );
    return done();
  }
  const bytes =
    typeof fetched.body === 'string' ? new TextEncoder().encode(fetched.body).length : fetched.body.length;
  if (bytes > MTA_STS_MAX_POLICY_BYTES) {
    findings.push(
      F.policy_fetch_failed.make(host, `The policy is ${bytes} bytes, over ${MTA_STS_MAX_POLICY_BYTES}.`, {
        reason: 'too_large',
        bytes,
        transient: false,
      }),
    );
    return done();
  }
  if (contentType !== 'text/plain') {
    findings.push(
      F.policy_content_type.make(
        host,
        `The policy is served as ${fetched.contentType ?? '(no Content-Type)'}, not text/plain.`,
        {
          contentType: fetched.contentType ?? null,
        },
      ),
    );
  }
  const body =
    typeof fetched.body === 'string' ? fetched.body : new TextDecoder('utf-8').decode(fetched.body);
  const parsed = parsePolicy(body);
  if (!parsed.ok) {
    findings.push(
      F.policy_syntax_error.make(host, `The policy is invalid: ${parsed.errors[0]}.`, {
        errors: parsed.errors,
      }),
    );
    return done();
  }
  facts.policy = parsed.policy;
  judgePolicy(input, domain, parsed.policy, findings, facts);
  return done();
}
