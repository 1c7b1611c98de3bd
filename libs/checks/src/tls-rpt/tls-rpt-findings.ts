/** The TLS-RPT findings catalogue (DESIGN.md §3). Codes are stable: add, never rename. */
import { defineFindings } from '../findings.ts';

export const tlsRptFindings = defineFindings('tls_rpt', {
  missing: {
    severity: 'low',
    title: 'No TLS-RPT record',
    remediation:
      'Publish TXT "v=TLSRPTv1; rua=mailto:tls-reports@<domain>" at _smtp._tls.<domain> to learn when senders fail to reach your MX hosts over TLS.',
    reference: 'RFC 8460 §3',
  },
  multiple_records: {
    severity: 'medium',
    title: 'Several TLS-RPT records',
    remediation:
      'With more than one v=TLSRPTv1 record senders assume TLS-RPT is not implemented; keep exactly one.',
    reference: 'RFC 8460 §3',
  },
  syntax_error: {
    severity: 'medium',
    title: 'TLS-RPT record syntax error',
    remediation:
      'Senders ignore a record they cannot parse. Write it exactly as "v=TLSRPTv1; rua=<uri>[,<uri>]", case-sensitive, without spaces around "=".',
    reference: 'RFC 8460 §3',
  },
  invalid_rua: {
    severity: 'medium',
    title: 'Invalid TLS-RPT report URI',
    remediation: 'Each rua entry must be a mailto: address or an https: URL, separated by commas.',
    reference: 'RFC 8460 §3',
  },
  lookup_unknown: {
    severity: 'info',
    title: 'TLS-RPT lookup failed',
    remediation: 'A DNS lookup timed out or failed; the result is incomplete and is retried on the next run.',
  },
});
