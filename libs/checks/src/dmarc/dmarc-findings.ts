/** The DMARC findings catalogue (DESIGN.md §3). Codes are stable: add, never rename. */
import { defineFindings } from '../findings.ts';

export const dmarcFindings = defineFindings('dmarc', {
  missing: {
    severity: 'high',
    title: 'No DMARC record',
    remediation:
      'Publish a TXT record at _dmarc.<domain> such as "v=DMARC1; p=none; rua=mailto:dmarc@<domain>", read the reports, then move to p=quarantine and p=reject.',
    reference: 'RFC 7489 §6.6.3, RFC 9989 §4.10',
  },
  multiple_records: {
    severity: 'high',
    title: 'Several DMARC records at one name',
    remediation:
      'Keep exactly one TXT record starting with v=DMARC1 at the _dmarc name; merge or delete the others.',
    reference: 'RFC 7489 §6.6.3 step 5, RFC 9989 §4.10',
  },
  syntax_error: {
    severity: 'medium',
    title: 'DMARC record syntax error',
    remediation:
      'Write the record as "v=DMARC1; tag=value; ..." with v=DMARC1 (exactly, upper case) first and each tag once.',
    reference: 'RFC 7489 §6.4, RFC 9989 §4.7',
  },
  invalid_tag: {
    severity: 'medium',
    title: 'DMARC tag with an invalid value',
    remediation: 'Correct the value; receivers ignore invalid values or treat the whole policy as p=none.',
    reference: 'RFC 7489 §6.3, RFC 9989 §4.7',
  },
  unknown_tag: {
    severity: 'low',
    title: 'Unknown DMARC tag',
    remediation: 'Receivers ignore unknown tags; check for a typo (for example "rau" for "rua").',
    reference: 'RFC 7489 §6.3, RFC 9989 §4.7',
  },
  deprecated_tag: {
    severity: 'info',
    title: 'DMARC tag removed by RFC 9989',
    remediation:
      'pct, ri, rf and the "!size" suffix of report URIs are gone from RFC 9989; use t=y instead of pct.',
    reference: 'RFC 9989 Appendix A',
  },
  record_unusable: {
    severity: 'high',
    title: 'DMARC record is ignored by receivers',
    remediation:
      'The record has no valid policy and no valid rua, so receivers apply no DMARC at all. Add a valid p= tag.',
    reference: 'RFC 7489 §6.6.3 step 6, RFC 9989 §4.10.1',
  },
  policy_none: {
    severity: 'medium',
    title: 'DMARC policy is none (monitoring only)',
    remediation:
      'Mail that fails DMARC is still delivered. Once the aggregate reports show all legitimate senders aligned, move to p=quarantine and then p=reject.',
    reference: 'RFC 7489 §6.3, RFC 9989 §4.7',
  },
  policy_quarantine: {
    severity: 'low',
    title: 'DMARC policy is quarantine',
    remediation: 'Failing mail goes to spam rather than being refused; move to p=reject when ready.',
    reference: 'RFC 7489 §6.3, RFC 9989 §4.7',
  },
  pct_partial: {
    severity: 'medium',
    title: 'DMARC policy applied to part of the mail (pct < 100)',
    remediation:
      'RFC 7489 receivers apply the policy to only pct% of failing mail. Set pct=100 or remove the tag.',
    reference: 'RFC 7489 §6.3',
  },
  testing_mode: {
    severity: 'medium',
    title: 'DMARC testing mode (t=y)',
    remediation:
      'With t=y receivers apply one level less (reject acts as quarantine, quarantine as none). Remove t=y.',
    reference: 'RFC 9989 §4.7',
  },
  subdomain_policy_weaker: {
    severity: 'medium',
    title: 'Subdomain policy (sp) weaker than the domain policy',
    remediation:
      'Spoofed mail from any subdomain is treated by the weaker sp policy. Raise sp to match p, or remove sp.',
    reference: 'RFC 7489 §6.3, RFC 9989 §4.7',
  },
  np_weaker: {
    severity: 'low',
    title: 'Non-existent subdomain policy (np) weaker than the subdomain policy',
    remediation: 'Names that do not exist should never send mail; set np=reject.',
    reference: 'RFC 9989 §4.7',
  },
  no_rua: {
    severity: 'low',
    title: 'No aggregate report address (rua)',
    remediation:
      'Add rua=mailto:<address> to receive aggregate reports and see who sends mail as the domain.',
    reference: 'RFC 7489 §6.3, RFC 9989 §4.7',
  },
  ruf_present: {
    severity: 'info',
    title: 'Failure reports requested (ruf)',
    remediation:
      'Failure reports can contain personal data from messages; make sure the ruf mailbox is handled accordingly. Most large receivers do not send them.',
    reference: 'RFC 7489 §7.3',
  },
  external_destination_unauthorized: {
    severity: 'medium',
    title: 'External report destination not authorised',
    remediation:
      'The report address is in another organisation, which must publish "v=DMARC1" at <your-domain>._report._dmarc.<their-domain>; otherwise receivers do not send the reports.',
    reference: 'RFC 7489 §7.1',
  },
  inherited_from_org_domain: {
    severity: 'info',
    title: 'DMARC policy inherited from a parent domain',
    remediation: 'The domain has no record of its own; the parent record applies (through sp or np).',
    reference: 'RFC 7489 §6.6.3, RFC 9989 §4.10.1',
  },
  discovery_mismatch: {
    severity: 'low',
    title: 'RFC 7489 and RFC 9989 receivers find different DMARC policies',
    remediation:
      'Receivers using the Public Suffix List (RFC 7489) and the DNS Tree Walk (RFC 9989) reach different records. Publish the intended record at the domain itself.',
    reference: 'RFC 7489 §6.6.3, RFC 9989 §4.10',
  },
  lookup_unknown: {
    severity: 'info',
    title: 'DMARC lookup failed',
    remediation: 'A DNS lookup timed out or failed; the result is incomplete and is retried on the next run.',
  },
});
