/** The DKIM findings catalogue (DESIGN.md §3). Codes are stable: add, never rename. */
import { defineFindings } from '../findings.ts';

export const dkimFindings = defineFindings('dkim', {
  no_selector_found: {
    severity: 'medium',
    title: 'No DKIM key found',
    remediation:
      'No key was found under the known or common selectors. Enable DKIM signing at every service that sends as the domain, and tell us the selectors it uses.',
    reference: 'RFC 6376 §3.6.2.1, RFC 8020 §2',
  },
  selector_missing: {
    severity: 'low',
    title: 'Configured DKIM selector has no key',
    remediation:
      'The selector was configured or seen in reports but has no key record; publish it, or remove the selector.',
    reference: 'RFC 6376 §3.6.2.1',
  },
  invalid_selector: {
    severity: 'low',
    title: 'Invalid DKIM selector',
    remediation:
      'A selector is one or more DNS labels (letters, digits, hyphens, underscores); correct the configured value.',
    reference: 'RFC 6376 §3.1',
  },
  key_too_short: {
    severity: 'high',
    title: 'DKIM RSA key shorter than 1024 bits',
    remediation:
      'Verifiers reject signatures made with this key. Generate a 2048-bit key and publish it under a new selector.',
    reference: 'RFC 8301 §3.2',
  },
  key_weak: {
    severity: 'low',
    title: 'DKIM RSA key shorter than 2048 bits',
    remediation: 'Rotate to a 2048-bit RSA key (or add an Ed25519 key beside it) under a new selector.',
    reference: 'RFC 8301 §3.2',
  },
  key_oversized: {
    severity: 'low',
    title: 'DKIM RSA key longer than 4096 bits',
    remediation:
      'Verifiers are only required to handle up to 4096 bits; some fail larger keys. Use 2048 or 4096 bits.',
    reference: 'RFC 8301 §3.2',
  },
  key_revoked: {
    severity: 'info',
    title: 'DKIM key revoked',
    remediation:
      'The selector publishes an empty p= (a revoked key). Fine after a rotation; remove it once no mail uses it.',
    reference: 'RFC 6376 §3.6.1',
  },
  testing_mode: {
    severity: 'low',
    title: 'DKIM key in testing mode (t=y)',
    remediation: 'Verifiers may treat signatures by this key as unsigned. Remove t=y once signing works.',
    reference: 'RFC 6376 §3.6.1',
  },
  sha1_allowed: {
    severity: 'low',
    title: 'DKIM key allows SHA-1',
    remediation: 'RFC 8301 forbids rsa-sha1; remove sha1 from h= (or drop h=) and sign with rsa-sha256.',
    reference: 'RFC 8301 §3.1',
  },
  sha1_only: {
    severity: 'high',
    title: 'DKIM key only allows SHA-1',
    remediation:
      'Signatures by this key can only be rsa-sha1, which verifiers must reject. Set h=sha256 or remove h=.',
    reference: 'RFC 8301 §3.1',
  },
  service_not_email: {
    severity: 'medium',
    title: 'DKIM key not usable for email',
    remediation:
      'The s= tag does not include email or *, so mail verifiers ignore this key. Remove s= or include email.',
    reference: 'RFC 6376 §3.6.1',
  },
  syntax_error: {
    severity: 'medium',
    title: 'DKIM key record syntax error',
    remediation:
      'Publish the key as "v=DKIM1; k=rsa; p=<base64 key>" exactly as the signing service gives it, each tag once.',
    reference: 'RFC 6376 §3.6.1',
  },
  unknown_key_type: {
    severity: 'medium',
    title: 'Unknown DKIM key type',
    remediation: 'k= must be rsa or ed25519; verifiers ignore keys of other types.',
    reference: 'RFC 6376 §3.6.1, RFC 8463 §4.2',
  },
  multiple_records: {
    severity: 'medium',
    title: 'Several TXT records at one DKIM selector',
    remediation:
      'Results are undefined when a selector has several records; keep one key record per selector.',
    reference: 'RFC 6376 §3.6.2.2',
  },
  deprecated_tag: {
    severity: 'info',
    title: 'Obsolete DKIM key tag',
    remediation: 'g= comes from RFC 4871 and was removed by RFC 6376; remove it.',
    reference: 'RFC 6376 Appendix C.1',
  },
  domainkey_nxdomain: {
    severity: 'low',
    title: '_domainkey answers NXDOMAIN although keys exist below it',
    remediation:
      'The DNS server denies the existence of _domainkey.<domain> while selectors exist below it. Resolvers that follow RFC 8020 then treat every key as missing; fix the server (an empty non-terminal must answer NODATA).',
    reference: 'RFC 8020 §2',
  },
  lookup_unknown: {
    severity: 'info',
    title: 'DKIM lookup failed',
    remediation: 'A DNS lookup timed out or failed; the result is incomplete and is retried on the next run.',
  },
});
