/**
 * Every URL and domain a reader of the message meets: URLs in header fields and text, link and
 * resource attributes in HTML (after HTML character references are decoded, so `&#104;ttp://` is
 * seen for what it is), `www.` names, e-mail addresses, and the domains of the address header
 * fields. Hosts are read by the WHATWG URL parser, which maps IDNs to A-labels and odd IPv4
 * spellings (`http://0x7f.1/`) to dotted quads as browsers do, so obfuscation does not hide a
 * host. Caps bound the work on hostile input.
 */
import { parseIp } from '@mailwarden/core';
import { clip, normalizeDnsName } from '../shared/dns-name.ts';
import type { HeaderField } from './mime.ts';

export const URL_LIMITS = {
  /** Candidate strings looked at, all sources together. */
  maxCandidates: 20_000,
  /** Distinct URLs kept in the report. */
  maxUrls: 500,
  /** Distinct hosts kept. */
  maxHosts: 500,
  /** Characters of one URL kept in evidence. */
  maxUrlChars: 512,
} as const;

export type ContentSource = 'header' | 'text' | 'html';

export interface ExtractedHost {
  /** Lower-case A-label name, or the canonical address for IP hosts. */
  host: string;
  kind: 'domain' | 'ip';
  /** Where it was seen: `header:from`, `text`, `html`, `address` … */
  sources: string[];
}

export interface ExtractedContent {
  urls: string[];
  hosts: ExtractedHost[];
  /** Candidates or hosts beyond a cap were skipped. */
  truncated: boolean;
}

/** Hosts of these header fields are the message's own identities (RFC 5322 §3.6.2-3.6.4). */
const ADDRESS_FIELDS = new Set([
  'from',
  'sender',
  'reply-to',
  'return-path',
  'to',
  'cc',
  'message-id',
  'in-reply-to',
  'references',
  'resent-from',
  'resent-sender',
]);
/** Fields that carry signatures and verdicts, not content a reader follows. */
const SKIPPED_FIELDS = new Set([
  'dkim-signature',
  'arc-seal',
  'arc-message-signature',
  'authentication-results',
  'arc-authentication-results',
  'received-spf',
]);

const URL_RE = /\b(?:https?|ftp):\/\/[^\s<>"'`{}|\\^[\]]+/gi;
const WWW_RE = /(?<![\w.@/-])www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?(?:\/[^\s<>"'`{}|\\^[\]]*)?/gi;
const ADDRESS_RE = /[a-z0-9._%+-]{1,64}@([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+)/gi;
const ATTRIBUTE_RE =
  /\b(?:href|src|action|formaction|background|poster|cite|data|srcset|longdesc)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}>'"]+$/;

const NAMED_REFERENCES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  sol: '/',
  colon: ':',
  period: '.',
  commat: '@',
};

/** HTML character references (numeric and the few named ones URLs use). */
export function decodeHtmlReferences(html: string): string {
  return html.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});?/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code =
        ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_REFERENCES[ref.toLowerCase()] ?? whole;
  });
}

export function createExtractor() {
  const urls = new Set<string>();
  const hosts = new Map<string, ExtractedHost>();
  let candidates = 0;
  let truncated = false;

  const addHost = (rawHost: string, source: string) => {
    const bare = rawHost.replace(/^\[|\]$/g, '');
    const ip = parseIp(bare);
    let key: string;
    let kind: ExtractedHost['kind'];
    if (ip) {
      key = bare.toLowerCase();
      kind = 'ip';
    } else {
      const name = normalizeDnsName(bare);
      if (name === null || !name.includes('.')) return;
      key = name;
      kind = 'domain';
    }
    const seen = hosts.get(key);
    if (seen) {
      if (!seen.sources.includes(source) && seen.sources.length < 8) seen.sources.push(source);
      return;
    }
    if (hosts.size >= URL_LIMITS.maxHosts) {
      truncated = true;
      return;
    }
    hosts.set(key, { host: key, kind, sources: [source] });
  };

  const take = (): boolean => {
    if (candidates >= URL_LIMITS.maxCandidates) {
      truncated = true;
      return false;
    }
    candidates++;
    return true;
  };

  const addUrl = (candidate: string, source: string) => {
    if (!take()) return;
    const text = candidate.trim().replace(TRAILING_PUNCTUATION, '');
    if (/^mailto:/i.test(text)) {
      const at = text.indexOf('@');
      if (at !== -1) addHost(text.slice(at + 1).split(/[?>&,;\s]/)[0] ?? '', source);
      return;
    }
    let url: URL;
    try {
      url = new URL(/^www\./i.test(text) ? `http://${text}` : text);
    } catch {
      return;
    }
    if (!['http:', 'https:', 'ftp:'].includes(url.protocol) || url.hostname === '') return;
    if (urls.size < URL_LIMITS.maxUrls) urls.add(clip(url.href, URL_LIMITS.maxUrlChars));
    else truncated = true;
    addHost(url.hostname, source);
  };

  const scanText = (text: string, source: string) => {
    for (const m of text.matchAll(URL_RE)) addUrl(m[0], source);
    for (const m of text.matchAll(WWW_RE)) addUrl(m[0], source);
    for (const m of text.matchAll(ADDRESS_RE)) if (take()) addHost(m[1] ?? '', source);
  };

  return {
    headers(fields: readonly HeaderField[]) {
      for (const field of fields) {
        if (SKIPPED_FIELDS.has(field.name)) continue;
        const source = `header:${field.name}`;
        for (const m of field.value.matchAll(URL_RE)) addUrl(m[0], source);
        if (ADDRESS_FIELDS.has(field.name) || field.name.startsWith('list-'))
          for (const m of field.value.matchAll(ADDRESS_RE)) if (take()) addHost(m[1] ?? '', source);
      }
    },
    text(text: string) {
      scanText(text, 'text');
    },
    html(html: string) {
      const decoded = decodeHtmlReferences(html);
      for (const m of decoded.matchAll(ATTRIBUTE_RE)) {
        const value = (m[1] ?? m[2] ?? m[3] ?? '').trim();
        // srcset holds "url width, url width".
        for (const item of value.split(/,\s+/)) addUrl(item.split(/\s+/)[0] ?? '', 'html');
      }
      scanText(decoded, 'html');
    },
    /** A domain the message names outright (DKIM d=, envelope MAIL FROM). */
    host(name: string, source: string) {
      addHost(name, source);
    },
    result(): ExtractedContent {
      return { urls: [...urls], hosts: [...hosts.values()], truncated };
    },
  };
}
