/** The DNSSEC findings catalogue (DESIGN.md §3). Codes are stable: add, never rename. */
import { defineFindings } from '../findings.ts';

export const dnssecFindings = defineFindings('dnssec', {
  unsigned: {
    severity: 'low',
    title: 'The zone is not signed with DNSSEC',
    remediation:
      'Sign the zone at your DNS host and publish its DS record at the registrar. Without DNSSEC, answers about your mail servers (MX, TLSA, MTA-STS, SPF) can be forged, and DANE cannot be used.',
    reference: 'RFC 4033 §4, RFC 4035 §5.2',
  },
  bogus: {
    severity: 'critical',
    title: 'DNSSEC validation fails: validating resolvers refuse the answers',
    remediation:
      'Validating resolvers (most large mail providers) treat the domain as unreachable. Fix the reason given: re-sign the zone, correct or remove the DS record at the registrar, or restore the missing records. If it cannot be fixed quickly, remove the DS record to make the zone unsigned rather than broken.',
    reference: 'RFC 4035 §5.5',
  },
  signature_expiring: {
    severity: 'high',
    title: 'A DNSSEC signature expires soon',
    remediation:
      'Signatures are not being refreshed. Check that the signer (or your DNS host) re-signs the zone automatically, well before expiry; once a signature expires the zone becomes bogus.',
    reference: 'RFC 4034 §3.1.5, RFC 6781 §4.4.2',
  },
  weak_algorithm: {
    severity: 'medium',
    title: 'The zone uses a deprecated DNSSEC algorithm or digest (SHA-1)',
    remediation:
      'Roll the zone to algorithm 13 (ECDSA P-256/SHA-256) or 8 (RSA/SHA-256), and publish SHA-256 DS records. Validators are dropping SHA-1, after which the zone will be treated as unsigned.',
    reference: 'RFC 8624 §3.1, §3.3',
  },
  unsupported_algorithm: {
    severity: 'medium',
    title: 'The zone is signed only with algorithms that validators do not support',
    remediation:
      'Validators treat the zone as unsigned. Roll to algorithm 13 or 8 and publish a DS record for the new key.',
    reference: 'RFC 4035 §5.2, RFC 8624 §3.1',
  },
  nsec3_iterations: {
    severity: 'low',
    title: 'NSEC3 uses extra iterations or a salt',
    remediation:
      'Set NSEC3 iterations to 0 and use an empty salt. Extra iterations add no security; above 150 validators treat the zone as unsigned.',
    reference: 'RFC 9276 §3.1, §3.2',
  },
  lookup_unknown: {
    severity: 'info',
    title: 'DNSSEC could not be evaluated: a lookup did not answer',
    remediation:
      'Nothing to do if it passes on the next run; otherwise check that the zone’s name servers answer DNSKEY and DS queries.',
  },
});
