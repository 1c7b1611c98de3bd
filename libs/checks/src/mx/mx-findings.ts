import { defineFindings } from '../findings.ts';

export const mxFindings = defineFindings('mx', {
  missing: {
    severity: 'medium',
    title: 'The domain has no MX record and no address to fall back on',
    remediation:
      'Publish MX records for the hosts that receive mail for this domain. If the domain never receives mail, publish a null MX ("0 .", RFC 7505) so senders fail fast.',
    reference: 'RFC 5321 §5.1',
  },
  null_mx: {
    severity: 'info',
    title: 'The domain publishes a null MX: it accepts no mail',
    remediation:
      'Nothing to do if the domain should not receive mail. If it should, replace the null MX with MX records for your mail hosts.',
    reference: 'RFC 7505 §3',
  },
  null_mx_mixed: {
    severity: 'high',
    title: 'A null MX is published together with other MX records',
    remediation:
      'A domain that advertises a null MX must not advertise any other MX record. Remove either the "0 ." record or the other MX records.',
    reference: 'RFC 7505 §3',
  },
  implicit_mx: {
    severity: 'low',
    title: "No MX record: mail is delivered to the domain's own address (implicit MX)",
    remediation:
      'Publish an explicit MX record for the host that should receive mail, or a null MX ("0 .") if the domain receives none. Relying on the A/AAAA fallback is fragile.',
    reference: 'RFC 5321 §5.1',
  },
  cname: {
    severity: 'medium',
    title: 'An MX record points at an alias (CNAME)',
    remediation: 'Point the MX record at the canonical host name (the CNAME target), not at the alias.',
    reference: 'RFC 2181 §10.3, RFC 5321 §5.1',
  },
  ip_literal: {
    severity: 'high',
    title: 'An MX record holds an IP address instead of a host name',
    remediation:
      'An MX exchange must be a host name. Create an A/AAAA record (e.g. mail.example.com) for the address and point the MX at that name.',
    reference: 'RFC 1035 §3.3.9, RFC 5321 §5.1',
  },
  duplicate_host: {
    severity: 'low',
    title: 'The same host appears in more than one MX record',
    remediation: 'Keep one MX record per host, with the preference you intend.',
    reference: 'RFC 5321 §5.1',
  },
  host_unresolvable: {
    severity: 'high',
    title: 'An MX host has no A or AAAA record',
    remediation:
      'Add A and/or AAAA records for the MX host, or remove the MX record. Senders skip hosts they cannot resolve and may bounce mail.',
    reference: 'RFC 5321 §5.1',
  },
  no_fcrdns: {
    severity: 'low',
    title: 'An MX address has no forward-confirmed reverse DNS',
    remediation:
      'Ask the owner of the IP address (your provider) to set a PTR record naming the MX host, and make sure that name resolves back to the same address.',
    reference: 'RFC 8601 §3 (iprev), RFC 1912 §2.1',
  },
  lookup_unknown: {
    severity: 'info',
    title: 'A DNS lookup for the MX check did not answer',
    remediation:
      'Nothing to change yet: the check is repeated. If it persists, check the authoritative name servers.',
  },
});
