/**
 * The SPF findings (DESIGN.md §3). Severity follows the effect on mail: anything that makes
 * check_host() return "permerror" for legitimate mail is high; a policy that lets anyone pass is
 * critical; hygiene is low or info.
 */
import { defineFindings } from '../findings.ts';

export const spfFindings = defineFindings('spf', {
  missing: {
    severity: 'high',
    title: 'No SPF record',
    remediation:
      'Publish one TXT record at the domain starting with "v=spf1" that lists your sending services and ends in "-all" or "~all"; a domain that sends no mail publishes "v=spf1 -all".',
    reference: 'RFC 7208 §4.5',
  },
  multiple_records: {
    severity: 'high',
    title: 'More than one SPF record',
    remediation:
      'Merge the records into a single "v=spf1" TXT record: with two or more, every SPF check returns permerror.',
    reference: 'RFC 7208 §4.5',
  },
  syntax_error: {
    severity: 'high',
    title: 'SPF record has a syntax error',
    remediation:
      'Fix the term at the given position: any syntax error anywhere in the record makes every SPF check return permerror.',
    reference: 'RFC 7208 §4.6, §12',
  },
  too_many_lookups: {
    severity: 'high',
    title: 'SPF needs more than 10 DNS lookups',
    remediation:
      'Bring the include, a, mx, ptr, exists and redirect terms (counted through every nested include) to 10 or fewer: remove unused services, replace a and mx with ip4/ip6 ranges, or ask a provider for a flatter include. Beyond 10, senders not matched earlier get permerror.',
    reference: 'RFC 7208 §4.6.4',
  },
  too_many_void_lookups: {
    severity: 'high',
    title: 'SPF causes more than 2 void DNS lookups',
    remediation:
      'Remove or fix the terms whose names do not exist or have no records (stale includes, a: or mx: of retired hosts). After the second void lookup, check_host() returns permerror.',
    reference: 'RFC 7208 §4.6.4',
  },
  too_many_mx_or_ptr_names: {
    severity: 'high',
    title: 'An mx term has more than 10 MX names',
    remediation:
      'Use ip4/ip6 ranges instead of the mx mechanism for this domain: an mx term may look at no more than 10 MX names, and reaching the eleventh gives permerror.',
    reference: 'RFC 7208 §4.6.4',
  },
  include_loop: {
    severity: 'high',
    title: 'SPF include or redirect loop',
    remediation:
      'Remove the include or redirect that leads back to a record already in the chain; a loop always ends in permerror.',
    reference: 'RFC 7208 §4.6.4, §5.2, §6.1',
  },
  include_missing: {
    severity: 'high',
    title: 'An include or redirect target has no SPF record',
    remediation:
      'Correct or remove the include / redirect: a target without exactly one SPF record makes the check permerror when it is reached.',
    reference: 'RFC 7208 §5.2, §6.1',
  },
  pass_all: {
    severity: 'critical',
    title: 'SPF allows every sender (+all)',
    remediation:
      'Replace "+all" with "-all" (or "~all" while you finish listing senders): "+all" lets any host on the internet send as this domain.',
    reference: 'RFC 7208 §5.1',
  },
  neutral_all: {
    severity: 'medium',
    title: 'SPF ends in ?all (neutral)',
    remediation:
      'End the record in "-all" (or "~all"): "?all" makes no statement about other senders, so receivers treat forgeries like unknown mail.',
    reference: 'RFC 7208 §2.6.2, §5.1',
  },
  softfail_all: {
    severity: 'low',
    title: 'SPF ends in ~all (softfail)',
    remediation:
      'Once every legitimate sender is listed, consider "-all"; with an enforcing DMARC policy "~all" is an accepted choice.',
    reference: 'RFC 7208 §2.6.5, §5.1',
  },
  no_all: {
    severity: 'medium',
    title: 'SPF has no "all" and no redirect',
    remediation:
      'End the record with "-all" (or "~all"): without it, unmatched senders get the default result neutral.',
    reference: 'RFC 7208 §4.7',
  },
  ptr_deprecated: {
    severity: 'low',
    title: 'SPF uses the ptr mechanism',
    remediation:
      'Replace ptr with ip4/ip6, a or include terms: ptr is slow, unreliable and "SHOULD NOT be used"; some receivers skip it.',
    reference: 'RFC 7208 §5.5',
  },
  redirect_with_all: {
    severity: 'low',
    title: 'redirect= is ignored because the record has "all"',
    remediation:
      'Remove either the redirect modifier or the "all" mechanism: with "all" present, redirect is never used.',
    reference: 'RFC 7208 §6.1',
  },
  exp_problem: {
    severity: 'low',
    title: 'The exp= explanation cannot be used',
    remediation:
      'Publish exactly one TXT record with a valid explanation string at the exp= target, or remove the exp modifier.',
    reference: 'RFC 7208 §6.2',
  },
  record_too_long: {
    severity: 'low',
    title: 'TXT answer may not fit in a UDP DNS message',
    remediation:
      'Shorten the SPF record (or other TXT records at the name) so the name plus all TXT text stays under 450 octets; otherwise some receivers fail over to TCP or fail the lookup.',
    reference: 'RFC 7208 §3.4',
  },
  string_too_long: {
    severity: 'medium',
    title: 'TXT character-string longer than 255 octets',
    remediation:
      'Split the record into several quoted strings of at most 255 octets each in the zone; a longer string cannot be served correctly on the wire.',
    reference: 'RFC 7208 §3.3, RFC 1035 §3.3',
  },
  lookup_unknown: {
    severity: 'info',
    title: 'DNS did not answer during the SPF check',
    remediation:
      'Nothing to change yet: a DNS lookup timed out or failed, so parts of the SPF tree are unknown. The check is repeated; if it persists, check the authoritative name servers.',
    reference: 'RFC 7208 §2.6.6',
  },
  ip4_too_broad: {
    severity: 'high',
    title: 'SPF authorises a very large address range',
    remediation:
      'Replace the range with the exact addresses or the provider include: an IPv4 prefix shorter than /16 (65 536 addresses) or an IPv6 prefix shorter than /32 covers far more than any one sender, often shared cloud or ISP space, or is a typo.',
    reference: 'RFC 7208 §5.6',
  },
  macros_used: {
    severity: 'info',
    title: 'SPF uses macros',
    remediation:
      'No action needed. Macros make part of the policy depend on each connection, so this report cannot follow those terms; check them by hand.',
    reference: 'RFC 7208 §7',
  },
});

export type SpfFindingKey = keyof typeof spfFindings;
