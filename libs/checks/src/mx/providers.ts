/**
 * A curated map from MX host names to the mail provider or secure e-mail gateway behind them.
 * Matching is by DNS suffix (`host === suffix` or `host` ends in `.suffix`), or by a pattern where
 * a suffix would be too broad (Amazon's inbound SMTP lives under amazonaws.com, next to everyone's
 * EC2 hosts). Identification is informational: it names the service, it is never a verdict.
 * Entries follow the MX names the providers document for their customers.
 */

export type ProviderKind = 'mailbox' | 'gateway' | 'inbound_processing' | 'forwarding';

export interface MailProvider {
  id: string;
  name: string;
  kind: ProviderKind;
}

interface ProviderEntry extends MailProvider {
  suffixes: readonly string[];
  patterns?: readonly RegExp[];
}

const PROVIDERS: readonly ProviderEntry[] = [
  // Hosted mailboxes.
  {
    id: 'google',
    name: 'Google Workspace / Gmail',
    kind: 'mailbox',
    suffixes: ['google.com', 'googlemail.com'],
  },
  {
    id: 'microsoft',
    name: 'Microsoft 365 / Exchange Online Protection',
    kind: 'mailbox',
    suffixes: ['protection.outlook.com', 'mx.microsoft', 'mail.protection.office365.us', 'hotmail.com'],
  },
  {
    id: 'zoho',
    name: 'Zoho Mail',
    kind: 'mailbox',
    suffixes: ['zoho.com', 'zoho.eu', 'zoho.in', 'zoho.com.au', 'zoho.jp', 'zohomail.com'],
  },
  { id: 'fastmail', name: 'Fastmail', kind: 'mailbox', suffixes: ['messagingengine.com'] },
  {
    id: 'amazon',
    name: 'Amazon SES / WorkMail',
    kind: 'inbound_processing',
    suffixes: [],
    patterns: [
      /^inbound-smtp\.[a-z0-9-]+\.amazonaws\.com$/,
      /^inbound-smtp\.[a-z0-9-]+\.amazonaws\.com\.cn$/,
    ],
  },
  { id: 'yandex', name: 'Yandex 360', kind: 'mailbox', suffixes: ['yandex.net', 'yandex.ru'] },
  { id: 'mailru', name: 'Mail.ru / VK WorkSpace', kind: 'mailbox', suffixes: ['mail.ru'] },
  { id: 'ovh', name: 'OVHcloud', kind: 'mailbox', suffixes: ['ovh.net', 'ovh.com'] },
  { id: 'gandi', name: 'Gandi', kind: 'mailbox', suffixes: ['gandi.net'] },
  {
    id: 'ionos',
    name: 'IONOS (1&1)',
    kind: 'mailbox',
    suffixes: [
      'ionos.com',
      'ionos.de',
      'ionos.co.uk',
      'ionos.fr',
      'ionos.es',
      '1and1.com',
      '1and1.co.uk',
      'kundenserver.de',
    ],
  },
  { id: 'icloud', name: 'Apple iCloud Mail', kind: 'mailbox', suffixes: ['mail.icloud.com'] },
  { id: 'yahoo', name: 'Yahoo Mail', kind: 'mailbox', suffixes: ['yahoodns.net'] },
  { id: 'proton', name: 'Proton Mail', kind: 'mailbox', suffixes: ['protonmail.ch'] },
  { id: 'rackspace', name: 'Rackspace Email', kind: 'mailbox', suffixes: ['emailsrvr.com'] },
  { id: 'godaddy', name: 'GoDaddy Workspace Email', kind: 'mailbox', suffixes: ['secureserver.net'] },
  { id: 'namecheap', name: 'Namecheap Private Email', kind: 'mailbox', suffixes: ['privateemail.com'] },
  { id: 'mailbox_org', name: 'mailbox.org', kind: 'mailbox', suffixes: ['mailbox.org'] },
  { id: 'migadu', name: 'Migadu', kind: 'mailbox', suffixes: ['migadu.com'] },
  { id: 'tencent', name: 'Tencent Exmail / QQ Mail', kind: 'mailbox', suffixes: ['qq.com'] },
  { id: 'alibaba', name: 'Alibaba Mail', kind: 'mailbox', suffixes: ['mxhichina.com'] },
  // Secure e-mail gateways.
  { id: 'proofpoint', name: 'Proofpoint', kind: 'gateway', suffixes: ['pphosted.com'] },
  {
    id: 'proofpoint_essentials',
    name: 'Proofpoint Essentials',
    kind: 'gateway',
    suffixes: ['ppe-hosted.com'],
  },
  { id: 'mimecast', name: 'Mimecast', kind: 'gateway', suffixes: ['mimecast.com', 'mimecast.co.za'] },
  {
    id: 'barracuda',
    name: 'Barracuda Email Protection',
    kind: 'gateway',
    suffixes: ['barracudanetworks.com'],
  },
  { id: 'cisco', name: 'Cisco Secure Email (IronPort)', kind: 'gateway', suffixes: ['iphmx.com'] },
  {
    id: 'hornetsecurity',
    name: 'Hornetsecurity',
    kind: 'gateway',
    suffixes: ['hornetsecurity.com', 'antispameurope.com'],
  },
  {
    id: 'trendmicro',
    name: 'Trend Micro Email Security',
    kind: 'gateway',
    suffixes: [
      'tmes.trendmicro.com',
      'tmes.trendmicro.eu',
      'tmes-anz.trendmicro.com',
      'tmes.trendmicro.co.jp',
    ],
  },
  { id: 'sophos', name: 'Sophos Email', kind: 'gateway', suffixes: ['hydra.sophos.com'] },
  {
    id: 'forcepoint',
    name: 'Forcepoint Email Security Cloud',
    kind: 'gateway',
    suffixes: ['mailcontrol.com'],
  },
  {
    id: 'messagelabs',
    name: 'Broadcom (Symantec) Email Security.cloud / MessageLabs',
    kind: 'gateway',
    suffixes: ['messagelabs.com'],
  },
  {
    id: 'trellix',
    name: 'Trellix (FireEye) Email Security',
    kind: 'gateway',
    suffixes: ['fireeyecloud.com'],
  },
  { id: 'checkpoint', name: 'Check Point Harmony Email (Avanan)', kind: 'gateway', suffixes: ['avanan.net'] },
  { id: 'libraesva', name: 'Libraesva', kind: 'gateway', suffixes: ['libraesva.com', 'esvacloud.com'] },
  {
    id: 'spamexperts',
    name: 'SpamExperts / N-able Mail Assure',
    kind: 'gateway',
    suffixes: ['spamexperts.com', 'spamexperts.eu', 'spamexperts.net', 'antispamcloud.com', 'mtaroutes.com'],
  },
  { id: 'fortimail', name: 'Fortinet FortiMail Cloud', kind: 'gateway', suffixes: ['fortimailcloud.com'] },
  {
    id: 'cloudflare_area1',
    name: 'Cloudflare Email Security (Area 1)',
    kind: 'gateway',
    suffixes: ['mxrecord.io', 'mxrecord.mx'],
  },
  { id: 'mailchannels', name: 'MailChannels', kind: 'gateway', suffixes: ['mailchannels.net'] },
  // Inbound processing and forwarding services.
  { id: 'mailgun', name: 'Mailgun (inbound routes)', kind: 'inbound_processing', suffixes: ['mailgun.org'] },
  {
    id: 'sendgrid',
    name: 'SendGrid (Inbound Parse)',
    kind: 'inbound_processing',
    suffixes: ['sendgrid.net'],
  },
  {
    id: 'postmark',
    name: 'Postmark (inbound)',
    kind: 'inbound_processing',
    suffixes: ['inbound.postmarkapp.com'],
  },
  {
    id: 'cloudflare_routing',
    name: 'Cloudflare Email Routing',
    kind: 'forwarding',
    suffixes: ['mx.cloudflare.net'],
  },
  { id: 'improvmx', name: 'ImprovMX', kind: 'forwarding', suffixes: ['improvmx.com'] },
];

/** The provider whose documented MX names cover `host` (lower case, no trailing dot). */
export function identifyProvider(host: string): MailProvider | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  for (const p of PROVIDERS) {
    if (p.suffixes.some((s) => h === s || h.endsWith(`.${s}`)) || p.patterns?.some((re) => re.test(h))) {
      return { id: p.id, name: p.name, kind: p.kind };
    }
  }
  return undefined;
}

/** Every provider in the map, for documentation. */
export function knownProviders(): MailProvider[] {
  return PROVIDERS.map(({ id, name, kind }) => ({ id, name, kind }));
}
