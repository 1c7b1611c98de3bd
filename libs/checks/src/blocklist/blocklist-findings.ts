import { defineFindings } from '../findings.ts';

export const blocklistFindings = defineFindings('blocklist', {
  ip_listed: {
    severity: 'high',
    title: 'A mail server address is on an IP blocklist (DNSBL)',
    remediation:
      "Find out why from the list's reason text and lookup page (a compromised host, an open relay, spam sent from the address, or a dynamic range), fix the cause, then request delisting from that list. Receivers that use the list may reject or junk mail from this address until then.",
    reference: 'RFC 5782 §2',
  },
  domain_listed: {
    severity: 'high',
    title: 'A domain is on a domain blocklist (Spamhaus DBL, SURBL, URIBL style)',
    remediation:
      "Check the list's reason and lookup page: the domain (or a host under it) appeared in spam, phishing or malware. Remove the abusive content or compromised site, then request delisting. Mail that names a listed domain is likely to be rejected or filtered.",
    reference: 'RFC 5782 §3',
  },
  lookup_unknown: {
    severity: 'info',
    title: 'A blocklist did not give a usable answer',
    remediation:
      'Nothing is known to be listed. If the reason is an error code such as 127.255.255.254 (Spamhaus) or 127.0.0.1 (URIBL, SURBL), the list refuses queries from the resolver in use: query it from your own recursive resolver or a registered data feed (DNS_SERVERS). Otherwise the check is repeated.',
    reference: 'RFC 5782 §2.1',
  },
});
