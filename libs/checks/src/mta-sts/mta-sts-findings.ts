import { defineFindings } from '../findings.ts';

export const mtaStsFindings = defineFindings('mta_sts', {
  missing: {
    severity: 'low',
    title: 'No MTA-STS policy is published',
    remediation:
      'Publish an MTA-STS policy at https://mta-sts.<domain>/.well-known/mta-sts.txt and a TXT record "v=STSv1; id=<id>" at _mta-sts.<domain>, starting in testing mode. Without it, an attacker on the path can strip STARTTLS from mail sent to you.',
    reference: 'RFC 8461 §3',
  },
  multiple_records: {
    severity: 'high',
    title: 'More than one MTA-STS TXT record is published',
    remediation:
      'Keep exactly one TXT record starting with "v=STSv1" at _mta-sts.<domain>. With several, senders ignore MTA-STS for the domain altogether.',
    reference: 'RFC 8461 §3.1',
  },
  txt_syntax_error: {
    severity: 'high',
    title: 'The MTA-STS TXT record is malformed',
    remediation:
      'Publish the record as "v=STSv1; id=<1-32 letters and digits>;" — v first, then id. Senders treat a malformed record as no policy at all.',
    reference: 'RFC 8461 §3.1',
  },
  policy_fetch_failed: {
    severity: 'high',
    title: 'The MTA-STS policy could not be fetched',
    remediation:
      'Serve the policy at https://mta-sts.<domain>/.well-known/mta-sts.txt with HTTP 200, a certificate valid for mta-sts.<domain> from a public CA, and a body under 64 KiB. Until then senders cannot apply the policy.',
    reference: 'RFC 8461 §3.3',
  },
  policy_redirect: {
    severity: 'high',
    title: 'The MTA-STS policy URL answers with a redirect',
    remediation:
      'Serve the policy directly at the well-known URL: senders must not follow HTTP redirects for MTA-STS.',
    reference: 'RFC 8461 §3.3',
  },
  policy_content_type: {
    severity: 'medium',
    title: 'The MTA-STS policy is not served as text/plain',
    remediation:
      'Serve mta-sts.txt with "Content-Type: text/plain". Senders may reject a policy with another media type.',
    reference: 'RFC 8461 §3.3',
  },
  policy_syntax_error: {
    severity: 'high',
    title: 'The MTA-STS policy is malformed',
    remediation:
      'The policy must hold "version: STSv1", "mode: enforce|testing|none", "max_age: <seconds>" and one "mx: <host or *.suffix>" line per MX, one field per line. Senders ignore an invalid policy.',
    reference: 'RFC 8461 §3.2',
  },
  policy_duplicate_field: {
    severity: 'low',
    title: 'A single-valued MTA-STS policy field appears more than once',
    remediation: 'Keep one version, mode and max_age line each; senders use the first and ignore the rest.',
    reference: 'RFC 8461 §3.2',
  },
  mode_testing: {
    severity: 'low',
    title: 'MTA-STS is in testing mode',
    remediation:
      'Testing mode only reports failures (via TLS-RPT). Once the reports are clean, switch to "mode: enforce" and change the id in the TXT record.',
    reference: 'RFC 8461 §5',
  },
  mode_none: {
    severity: 'low',
    title: 'MTA-STS mode is none: the policy is withdrawn',
    remediation:
      'Mode none tells senders to forget the policy. If that is not intended, publish "mode: testing" or "mode: enforce" and change the id.',
    reference: 'RFC 8461 §5, §8.3',
  },
  mx_not_covered: {
    severity: 'high',
    title: 'An MX host is not covered by the MTA-STS policy',
    remediation:
      'Add an "mx:" line for the host (or a "*.<parent>" pattern covering it) and change the TXT id. In enforce mode senders refuse to deliver to an MX the policy does not list.',
    reference: 'RFC 8461 §4.1',
  },
  max_age_too_short: {
    severity: 'low',
    title: 'The MTA-STS max_age is shorter than a day',
    remediation:
      'A short max_age leaves senders without a cached policy, which is when downgrade attacks work. Use weeks (e.g. max_age: 1209600).',
    reference: 'RFC 8461 §3.2, §10.2',
  },
  max_age_too_long: {
    severity: 'medium',
    title: 'The MTA-STS max_age exceeds the maximum of 31557600 seconds',
    remediation: 'Set max_age to at most 31557600 (one year); senders may reject a larger value.',
    reference: 'RFC 8461 §3.2',
  },
  lookup_unknown: {
    severity: 'info',
    title: 'A DNS lookup for the MTA-STS check did not answer',
    remediation:
      'Nothing to change yet: the check is repeated. If it persists, check the authoritative name servers.',
  },
});
