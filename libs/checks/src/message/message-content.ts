/**
 * The content side of the message check: every URL and host of the headers and text parts (plus
 * the DKIM signing domains and the envelope domain) is collected, and the registrable domains and
 * IP hosts are looked up in the blocklists.
 */
import type { Resolver } from '@mailwarden/core';
import { type BlocklistFacts, blocklistDomainOf, checkBlocklists } from '../blocklist/blocklist.ts';
import type { CheckResult } from '../findings.ts';
import type { CheckMessageOptions, DkimSummary, MessageCheckReport } from './message-types.ts';
import type { ParsedMime } from './mime.ts';
import { createExtractor } from './urls.ts';

/** Domains quoted in the report. */
const MAX_REPORTED_DOMAINS = 200;

export interface ContentExamination {
  content: MessageCheckReport['content'];
  blocklists: CheckResult<BlocklistFacts> | null;
}

/**
 * Extracts and looks up the message's hosts. `truncated` lists what was already left unexamined;
 * what the extractor leaves out is added to it before it goes into the report.
 */
export async function examineContent(
  resolver: Resolver,
  mime: ParsedMime,
  found: { dkim: readonly DkimSummary[]; envelopeDomain: string | null; clientIp: string | null },
  options: Pick<CheckMessageOptions, 'domainLists' | 'ipLists'>,
  truncated: string[],
): Promise<ContentExamination> {
  const { dkim, envelopeDomain, clientIp } = found;
  const extractor = createExtractor();
  extractor.headers(mime.headers);
  extractor.headers(mime.nestedHeaders);
  for (const part of mime.texts) {
    if (part.contentType === 'text/html') extractor.html(part.text);
    else extractor.text(part.text);
  }
  for (const d of dkim) if (d.domain !== '') extractor.host(d.domain, 'dkim');
  if (envelopeDomain) extractor.host(envelopeDomain, 'envelope:mail-from');
  const extracted = extractor.result();
  if (extracted.truncated) truncated.push('URLs or hosts beyond the caps');

  const domainHosts = extracted.hosts.filter((h) => h.kind === 'domain');
  const ipHosts = extracted.hosts.filter((h) => h.kind === 'ip');
  const ipLists = options.ipLists ?? [];
  const origins: Record<string, string[]> = {};
  for (const h of extracted.hosts) origins[h.host] = h.sources;
  if (clientIp) origins[clientIp] = [...(origins[clientIp] ?? []), 'envelope:client-ip'];
  const wantsLookups = options.domainLists.length > 0 || ipLists.length > 0;
  const blocklists = wantsLookups
    ? await checkBlocklists(resolver, {
        domains: domainHosts.map((h) => h.host),
        ips: ipLists.length > 0 ? [...(clientIp ? [clientIp] : []), ...ipHosts.map((h) => h.host)] : [],
        domainLists: options.domainLists,
        ipLists,
        origins,
      })
    : null;

  const content: MessageCheckReport['content'] = {
    parts: mime.partCount,
    texts: mime.texts.map((t) => ({ contentType: t.contentType, charset: t.charset, chars: t.text.length })),
    attachments: mime.others.slice(0, 100),
    urls: extracted.urls,
    domains: domainHosts
      .slice(0, MAX_REPORTED_DOMAINS)
      .map((h) => ({ domain: h.host, registrable: blocklistDomainOf(h.host) ?? null, sources: h.sources })),
    ipHosts: ipHosts.map((h) => ({ address: h.host, sources: h.sources })),
    truncated: [...new Set(truncated)],
  };
  return { content, blocklists };
}
