/**
 * The TLS-RPT check (RFC 8460 §3): the policy record at `_smtp._tls.<domain>`, its syntax and its
 * report URIs. Delivering reports is not tested here.
 */
import type { Resolver } from '@mailwarden/core';
import { type CheckResult, type Finding, resultOf } from '../findings.ts';
import { clip, joinTxt, normalizeDnsName } from '../shared/dns-name.ts';
import { isTlsRptRecord, looksLikeIgnoredTlsRpt, parseTlsRptRecord, type TlsRptUri } from './record.ts';
import { tlsRptFindings as F } from './tls-rpt-findings.ts';

/** A hostile record yields at most this many findings of one kind. */
export const MAX_FINDINGS_PER_KIND = 10;

export interface TlsRptCheckInput {
  resolver: Resolver;
}

export interface TlsRptFacts {
  domain: string;
  /** The TXT name asked. */
  name: string;
  /** The record, when exactly one v=TLSRPTv1 record exists (clipped when huge). */
  record: string | null;
  /** Whether senders would use the record: exactly one record, syntactically valid. */
  valid: boolean;
  rua: TlsRptUri[];
  extensions: Record<string, string>;
}

export async function checkTlsRpt(
  domain: string,
  input: TlsRptCheckInput,
): Promise<CheckResult<TlsRptFacts>> {
  const normalized = normalizeDnsName(domain);
  const name = normalized === null ? null : normalizeDnsName(`_smtp._tls.${normalized}`);
  if (normalized === null || name === null)
    throw new RangeError(`checkTlsRpt: not a domain name: ${clip(domain, 80)}`);
  const facts: TlsRptFacts = {
    domain: normalized,
    name,
    record: null,
    valid: false,
    rua: [],
    extensions: {},
  };
  const findings: Finding[] = [];
  const result = await input.resolver.query(name, 'TXT');
  if (result.status === 'unknown') {
    findings.push(
      F.lookup_unknown.make(normalized, `The lookup of ${name} failed (${result.reason}).`, {
        name,
        reason: result.reason,
      }),
    );
    return resultOf('tls_rpt', facts, findings, true);
  }
  const texts = result.status === 'answer' ? result.records.map(joinTxt) : [];
  // §3: records that do not begin with v=TLSRPTv1 are discarded; then exactly one must remain.
  const records = texts.filter(isTlsRptRecord);
  for (const ignored of texts.filter(looksLikeIgnoredTlsRpt).slice(0, 3)) {
    findings.push(
      F.syntax_error.make(
        normalized,
        `${name} has a record that looks like TLS-RPT but does not start with "v=TLSRPTv1"; senders ignore it.`,
        {
          record: clip(ignored),
        },
      ),
    );
  }
  if (records.length === 0) {
    findings.push(
      F.missing.make(normalized, `No TLS-RPT record at ${name}.`, { name, status: result.status }),
    );
    return resultOf('tls_rpt', facts, findings);
  }
  if (records.length > 1) {
    findings.push(
      F.multiple_records.make(
        normalized,
        `${name} has ${records.length} v=TLSRPTv1 records; senders ignore them all.`,
        {
          records: records.slice(0, 5).map((r) => clip(r, 256)),
        },
      ),
    );
    return resultOf('tls_rpt', facts, findings);
  }
  const raw = records[0] ?? '';
  const record = parseTlsRptRecord(raw);
  Object.assign(facts, { record: clip(raw), rua: record.rua.slice(0, 50), extensions: record.extensions });
  const evidence = { record: clip(raw) };
  for (const error of record.syntaxErrors.slice(0, MAX_FINDINGS_PER_KIND)) {
    findings.push(F.syntax_error.make(normalized, `TLS-RPT record: ${error}.`, evidence));
  }
  const invalid = record.rua.filter((u) => u.problem !== null);
  for (const uri of invalid.slice(0, MAX_FINDINGS_PER_KIND)) {
    findings.push(
      F.invalid_rua.make(normalized, `rua entry "${clip(uri.uri, 80)}": ${uri.problem}.`, {
        ...evidence,
        uri: clip(uri.uri, 256),
        reason: uri.problem,
      }),
    );
  }
  facts.valid = record.syntaxErrors.length === 0 && record.rua.some((u) => u.problem === null);
  return resultOf('tls_rpt', facts, findings);
}
