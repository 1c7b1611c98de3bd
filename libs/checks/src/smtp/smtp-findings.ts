import { defineFindings } from '../findings.ts';

export const smtpFindings = defineFindings('smtp', {
  probe_untestable: {
    severity: 'info',
    title: 'The MX could not be tested this time',
    remediation:
      'Nothing to change yet: the probe is repeated. If it persists, check that the MX accepts connections on port 25 from the internet and does not greylist or rate-limit the prober.',
  },
  address_not_public: {
    severity: 'medium',
    title: 'An MX address is not a public internet address',
    remediation:
      'Point the MX host at public addresses only. Private, loopback and other special-purpose addresses cannot receive mail from the internet and may leak internal network details.',
    reference: 'RFC 6890',
  },
  banner_hostname_mismatch: {
    severity: 'low',
    title: 'The SMTP greeting names a host that does not match the reverse DNS of its address',
    remediation:
      'Make the greeting host name (Postfix: myhostname) the PTR name of the address, and make that name resolve back to the address. Some receivers score mismatches as spam signals.',
    reference: 'RFC 5321 §4.1.3, RFC 8601 §3 (iprev)',
  },
  auth_before_starttls: {
    severity: 'medium',
    title: 'The MX offers AUTH before STARTTLS',
    remediation:
      'Offer authentication only after TLS (Postfix: smtpd_tls_auth_only = yes), and preferably only on the submission ports, not on port 25.',
    reference: 'RFC 4954 §4, RFC 3207 §6',
  },
  vrfy_enabled: {
    severity: 'low',
    title: 'VRFY confirms mailboxes',
    remediation:
      'Disable VRFY (Postfix: disable_vrfy_command = yes) or answer 252, so the server cannot be used to harvest valid addresses.',
    reference: 'RFC 5321 §3.5.3, §7.3',
  },
  expn_enabled: {
    severity: 'low',
    title: 'EXPN expands mailing lists',
    remediation: 'Disable EXPN so list members and aliases cannot be enumerated.',
    reference: 'RFC 5321 §3.5.3, §7.3',
  },
  version_disclosed: {
    severity: 'info',
    title: 'The SMTP greeting discloses the server software version',
    remediation:
      'Remove the product and version from the greeting (Postfix: smtpd_banner = $myhostname ESMTP), so scanners cannot pick known vulnerabilities by version.',
    reference: 'RFC 5321 §4.3.1',
  },
  open_relay: {
    severity: 'critical',
    title: 'The MX accepts mail for foreign domains from anyone (open relay)',
    remediation:
      'Restrict relaying to your own domains and to authenticated clients (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination).',
    reference: 'RFC 5321 §3.9, RFC 2505',
  },
});
