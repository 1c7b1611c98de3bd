/** The DANE findings catalogue (DESIGN.md §3). Codes are stable: add, never rename. */
import { defineFindings } from '../findings.ts';

export const daneFindings = defineFindings('dane', {
  tlsa_insecure: {
    severity: 'medium',
    title: 'TLSA records are published in a zone that is not DNSSEC-signed',
    remediation:
      'Senders ignore TLSA records that are not DNSSEC-validated. Sign the zone of the MX host (and publish its DS), or remove the TLSA records.',
    reference: 'RFC 7672 §2.2',
  },
  tlsa_bogus: {
    severity: 'critical',
    title: 'The TLSA lookup for an MX host fails DNSSEC validation',
    remediation:
      'DANE senders defer mail to this host while its TLSA records are bogus. Fix the DNSSEC problem of the zone holding the TLSA records.',
    reference: 'RFC 7672 §2.2.2',
  },
  mx_insecure: {
    severity: 'medium',
    title: 'TLSA records are secure but the MX records are not',
    remediation:
      'Senders only use DANE for MX hosts found through a validated MX lookup. Sign the domain’s zone so its MX records validate.',
    reference: 'RFC 7672 §2.2.1',
  },
  pkix_usage: {
    severity: 'medium',
    title: 'A TLSA record uses a PKIX usage (0 or 1), which SMTP clients ignore',
    remediation:
      'Publish DANE-EE (usage 3, e.g. "3 1 1") or DANE-TA (usage 2) records instead; usages 0 and 1 are unusable for SMTP.',
    reference: 'RFC 7672 §3.1.3',
  },
  malformed_tlsa: {
    severity: 'high',
    title: 'A TLSA record is malformed',
    remediation:
      'Correct the record: usage 2 or 3, selector 0 or 1, matching type 1 (SHA-256, 32 octets) or 2 (SHA-512, 64 octets), or matching type 0 with the full DER data.',
    reference: 'RFC 6698 §2.1, RFC 7671 §5',
  },
  no_usable_records: {
    severity: 'high',
    title: 'The MX host publishes TLSA records, none of them usable',
    remediation:
      'With only unusable TLSA records, DANE senders still require TLS but cannot authenticate the server. Publish a valid DANE-EE or DANE-TA record.',
    reference: 'RFC 7672 §2.2',
  },
  no_rollover_record: {
    severity: 'low',
    title: 'Only one TLSA record: no record is ready for the next key',
    remediation:
      'Publish a second TLSA record for the next key or certificate authority before changing it ("current + next"), so a certificate change does not break delivery.',
    reference: 'RFC 7671 §8.1, RFC 7672 §3.1.1',
  },
  lookup_unknown: {
    severity: 'info',
    title: 'DANE could not be evaluated: a lookup did not answer',
    remediation: 'Nothing to do if it passes on the next run.',
  },
});
