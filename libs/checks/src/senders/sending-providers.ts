/**
 * A curated map from the reverse-DNS names of sending servers to the service that sends: the
 * report analytics name a DMARC source ("Amazon SES", "Google") so a mail admin recognises an ESP
 * they forgot to align. Entries follow the outbound host names the services document or that
 * their mail carries in Received headers; a name matches by DNS suffix. Mailbox providers and
 * gateways send from the same domains as their MX hosts, so the MX map (mx/providers.ts) is the
 * fallback. Only a forward-confirmed name (sender-name.ts) is ever looked up here: anyone can set
 * the PTR of their own address to `mail.google.com`.
 */
import { identifyProvider } from '../mx/providers.ts';

export interface SendingProvider {
  id: string;
  name: string;
}

interface SenderEntry extends SendingProvider {
  suffixes: readonly string[];
}

const SENDERS: readonly SenderEntry[] = [
  { id: 'amazon_ses', name: 'Amazon SES', suffixes: ['amazonses.com'] },
  { id: 'sendgrid', name: 'SendGrid (Twilio)', suffixes: ['sendgrid.net'] },
  { id: 'mailgun', name: 'Mailgun', suffixes: ['mailgun.net', 'mailgun.org', 'mailgun.info'] },
  { id: 'mailchimp', name: 'Mailchimp', suffixes: ['mcsv.net', 'rsgsv.net', 'mcdlv.net'] },
  { id: 'mandrill', name: 'Mandrill (Mailchimp Transactional)', suffixes: ['mandrillapp.com'] },
  { id: 'sparkpost', name: 'SparkPost (Bird)', suffixes: ['sparkpostmail.com'] },
  { id: 'postmark', name: 'Postmark', suffixes: ['mtasv.net'] },
  { id: 'mailjet', name: 'Mailjet', suffixes: ['mailjet.com'] },
  { id: 'brevo', name: 'Brevo (Sendinblue)', suffixes: ['sendinblue.com', 'brevo.com'] },
  {
    id: 'salesforce_mc',
    name: 'Salesforce Marketing Cloud',
    suffixes: ['exacttarget.com', 's4.exacttarget.com'],
  },
  { id: 'salesforce', name: 'Salesforce', suffixes: ['salesforce.com'] },
  { id: 'hubspot', name: 'HubSpot', suffixes: ['hubspotemail.net'] },
  { id: 'zendesk', name: 'Zendesk', suffixes: ['zendesk.com'] },
  { id: 'constant_contact', name: 'Constant Contact', suffixes: ['constantcontact.com'] },
  { id: 'google', name: 'Google (Workspace, Gmail)', suffixes: ['google.com', 'googlemail.com'] },
  {
    id: 'microsoft',
    name: 'Microsoft 365 / Outlook.com',
    suffixes: ['outbound.protection.outlook.com', 'protection.outlook.com', 'outlook.com', 'hotmail.com'],
  },
  { id: 'yahoo', name: 'Yahoo Mail', suffixes: ['yahoo.com', 'yahoo.net'] },
  { id: 'icloud', name: 'Apple iCloud Mail', suffixes: ['icloud.com', 'me.com'] },
];

/** The sending service behind a (forward-confirmed) host name, or undefined. */
export function identifySender(host: string): SendingProvider | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  for (const s of SENDERS) {
    if (s.suffixes.some((suffix) => h === suffix || h.endsWith(`.${suffix}`)))
      return { id: s.id, name: s.name };
  }
  const mailbox = identifyProvider(h);
  return mailbox ? { id: mailbox.id, name: mailbox.name } : undefined;
}
