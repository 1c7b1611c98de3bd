import { defineFindings } from '../findings.ts';

export const tlsFindings = defineFindings('tls', {
  no_starttls: {
    severity: 'high',
    title: 'The MX does not offer STARTTLS: mail to it travels unencrypted',
    remediation:
      'Enable STARTTLS on the mail server (Postfix: smtpd_tls_security_level = may, with a certificate and key) so sending servers can encrypt mail in transit.',
    reference: 'RFC 3207 §4, RFC 7435',
  },
  starttls_failed: {
    severity: 'high',
    title: 'STARTTLS is offered but the TLS handshake does not complete',
    remediation:
      'Check the TLS configuration of the mail server: certificate and key files, the protocol versions and cipher suites it allows. Senders that cannot complete TLS fall back to plaintext or do not deliver at all.',
    reference: 'RFC 3207 §4.1',
  },
  legacy_protocol: {
    severity: 'medium',
    title: 'The MX still accepts TLS 1.0 or TLS 1.1',
    remediation:
      'Disable TLS 1.0 and 1.1 (Postfix: smtpd_tls_protocols = >=TLSv1.2). Both are deprecated and every current mail server speaks TLS 1.2.',
    reference: 'RFC 8996 §2-3',
  },
  no_modern_protocol: {
    severity: 'high',
    title: 'The MX supports neither TLS 1.2 nor TLS 1.3',
    remediation: 'Upgrade the TLS library or the mail server so it offers TLS 1.2 and TLS 1.3.',
    reference: 'RFC 8996, RFC 9325 §3.1.1',
  },
  no_tls13: {
    severity: 'info',
    title: 'The MX does not support TLS 1.3',
    remediation: 'Enable TLS 1.3 (OpenSSL 1.1.1 or later); it is faster and drops every legacy cipher suite.',
    reference: 'RFC 9325 §3.1.1',
  },
  weak_cipher: {
    severity: 'medium',
    title: 'The MX accepts weak cipher suites (NULL, anonymous, export, DES, 3DES or RC4)',
    remediation:
      'Remove NULL, anonymous (aNULL), export, DES, 3DES and RC4 suites from the server cipher list (Postfix: smtpd_tls_exclude_ciphers = aNULL, eNULL, EXPORT, DES, 3DES, RC4, MD5).',
    reference: 'RFC 9325 §4.1, RFC 7465',
  },
  no_forward_secrecy: {
    severity: 'medium',
    title: 'The MX negotiates a key exchange without forward secrecy',
    remediation:
      'Prefer ECDHE (or DHE) key exchange and TLS 1.3; remove or de-prioritise static RSA key exchange suites, so a stolen server key cannot decrypt recorded mail.',
    reference: 'RFC 9325 §4.1, §4.2',
  },
  cert_untrusted: {
    severity: 'high',
    title: 'The MX certificate chain does not lead to a trusted root',
    remediation:
      'Install a certificate from a public CA and serve the full chain (leaf and intermediates). Senders that verify (MTA-STS, DANE-TA) will refuse to deliver.',
    reference: 'RFC 5280 §6, RFC 8461 §4.2',
  },
  cert_self_signed: {
    severity: 'high',
    title: 'The MX presents a self-signed certificate',
    remediation:
      'Replace the self-signed certificate with one from a public CA (for example a free ACME certificate), or publish DANE-EE TLSA records for it.',
    reference: 'RFC 8461 §4.2, RFC 7672 §3.1.1',
  },
  cert_name_mismatch: {
    severity: 'high',
    title: 'The MX certificate does not name the MX host',
    remediation:
      'Use a certificate whose subjectAltName includes the MX host name exactly as published in the MX record (a wildcard covers one label only).',
    reference: 'RFC 6125 §6.4, RFC 8461 §4.2',
  },
  cert_expired: {
    severity: 'critical',
    title: 'A certificate in the MX chain has expired',
    remediation: 'Renew the certificate (and the intermediates you serve) and reload the mail server.',
    reference: 'RFC 5280 §4.1.2.5',
  },
  cert_not_yet_valid: {
    severity: 'high',
    title: 'A certificate in the MX chain is not valid yet',
    remediation:
      "Check the server's clock and the certificate's notBefore date; serve a certificate that is valid now.",
    reference: 'RFC 5280 §4.1.2.5',
  },
  cert_expiring: {
    severity: 'low',
    title: 'The MX certificate expires within the first warning window (default 30 days)',
    remediation:
      'Renew the certificate before it expires; check that automatic renewal (ACME) runs and reloads the mail server.',
    reference: 'RFC 5280 §4.1.2.5',
  },
  cert_expiring_soon: {
    severity: 'medium',
    title: 'The MX certificate expires within the second warning window (default 14 days)',
    remediation: 'Renew the certificate now; automatic renewal has probably failed.',
    reference: 'RFC 5280 §4.1.2.5',
  },
  cert_expiring_imminent: {
    severity: 'high',
    title: 'The MX certificate expires within the last warning window (default 7 days)',
    remediation:
      'Renew the certificate today and reload the mail server; verifying senders will refuse it once it expires.',
    reference: 'RFC 5280 §4.1.2.5',
  },
  cert_weak_key: {
    severity: 'high',
    title: 'A certificate in the MX chain has a weak key',
    remediation: 'Issue a new certificate with an RSA key of at least 2048 bits or an ECDSA P-256 key.',
    reference: 'RFC 9325 §4.1, NIST SP 800-131A',
  },
  cert_weak_signature: {
    severity: 'high',
    title: 'A certificate in the MX chain is signed with MD5 or SHA-1',
    remediation: 'Replace the certificate (or the intermediate) with one signed with SHA-256 or better.',
    reference: 'RFC 9155, RFC 6151',
  },
  dane_mismatch: {
    severity: 'critical',
    title: 'DNSSEC-signed TLSA records do not match the MX certificate',
    remediation:
      'Publish TLSA records for the certificate (or key) the server presents now, or roll the certificate back. DANE senders refuse to deliver while no TLSA record matches; publish the new record before every rollover.',
    reference: 'RFC 7672 §3.1, RFC 7671 §8',
  },
  mta_sts_mx_not_covered: {
    severity: 'high',
    title: 'The probed MX host is not listed in the MTA-STS policy',
    remediation:
      'Add the MX host (or a *.suffix pattern that covers it) to the mx lines of the MTA-STS policy and change the policy id.',
    reference: 'RFC 8461 §4.1',
  },
  mta_sts_invalid_tls: {
    severity: 'critical',
    title: 'The MTA-STS policy is in enforce mode, but this MX has no valid TLS',
    remediation:
      'Fix STARTTLS and the certificate of this MX (trusted chain, MX name, not expired), or switch the policy to testing until it is fixed: MTA-STS senders do not deliver to it.',
    reference: 'RFC 8461 §4.2, §5',
  },
  plaintext_service: {
    severity: 'medium',
    title: 'A mail service on this host accepts plaintext connections without offering TLS',
    remediation:
      'Offer STARTTLS (or STLS) on the service and require it before authentication, or close the plaintext port and use the implicit-TLS one (465, 993, 995).',
    reference: 'RFC 8314 §3, RFC 2595',
  },
});
