import { defineFindings } from '../findings.ts';

/** What the message check reports about one message; listed domains are `blocklist.domain_listed`. */
export const messageFindings = defineFindings('message', {
  dmarc_fail: {
    severity: 'high',
    title: 'The message fails DMARC for its From domain',
    remediation:
      'Neither an aligned SPF pass nor an aligned DKIM pass vouches for the From domain. If the message is genuine, the sending service must sign with DKIM for the From domain (or send from an SPF-authorised address of it); otherwise it is spoofed and should be rejected or quarantined as the domain asks.',
    reference: 'RFC 7489 §6.6.2',
  },
  spf_fail: {
    severity: 'medium',
    title: "The connecting address is not authorised by the sender domain's SPF record",
    remediation:
      'If the message is genuine, add the sending service to the SPF record of the MAIL FROM domain (or have it use its own bounce domain); a forwarded message fails SPF by nature and needs DKIM or ARC to survive.',
    reference: 'RFC 7208 §2.6.4, §2.6.5',
  },
  dkim_fail: {
    severity: 'medium',
    title: 'A DKIM signature of the message does not verify',
    remediation:
      "The message was changed after signing (a footer, a rewritten link, a re-encoded body) or the key in DNS does not match the one that signed. Sign after the last change, and check the selector's key record.",
    reference: 'RFC 6376 §6.1',
  },
  arc_fail: {
    severity: 'low',
    title: 'The ARC chain of the message is broken',
    remediation:
      "An intermediary's ARC seal or message signature does not verify, so the authentication results it recorded cannot be trusted. Check the forwarding or mailing-list service that sealed last.",
    reference: 'RFC 8617 §5.2',
  },
  unauthenticated: {
    severity: 'medium',
    title: 'Nothing authenticates the message: no SPF pass and no DKIM pass',
    remediation:
      'Genuine mail from a domain should pass SPF for its MAIL FROM domain and carry a valid DKIM signature; publish SPF and DKIM for every service that sends as the domain.',
    reference: 'RFC 7489 §4.2',
  },
  auth_unknown: {
    severity: 'info',
    title: 'An authentication check could not finish (DNS temporary error)',
    remediation:
      "No verdict was reached for this part (temperror); it is not a failure. Check again later, or check the sender's DNS if it persists.",
    reference: 'RFC 8601 §2.7',
  },
  not_fully_examined: {
    severity: 'info',
    title: 'Part of the message was not examined (size or structure caps)',
    remediation:
      'The message has more parts, nesting, text or links than the check reads; what was read is reported. Very large or deeply nested messages are themselves a common trait of evasive mail.',
  },
});
