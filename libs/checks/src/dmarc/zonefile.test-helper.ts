/**
 * TEST HELPER: reads the text zone files of the shared corpus (../shared/corpus, one RR per
 * line, as written by the authentication_milter and Mail::BIMI test suites) into a Zone. Only
 * what these checks need is read: TXT, CNAME and A. TXT data may be quoted strings, unquoted
 * words, or both inside parentheses; each quoted string or bare word is one character-string.
 * Lines starting with ";" (including the milter's ";ERROR,..." markers, which mean NXDOMAIN — the
 * default for names not listed) are comments.
 */
import { readFileSync } from 'node:fs';
import type { Zone, ZoneNode } from '@mailwarden/testing/zone-resolver';

export { CORPUS_DIR } from '@mailwarden/testing/corpus';

import { CORPUS_DIR } from '@mailwarden/testing/corpus';

const TYPES = new Set(['TXT', 'CNAME', 'A', 'AAAA', 'MX', 'NS', 'PTR', 'SOA']);

function tokenize(rest: string): string[] {
  const tokens: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|([^\s()]+)/g;
  for (const match of rest.matchAll(pattern)) {
    tokens.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? ''));
  }
  return tokens;
}

export function parseZoneFile(text: string): Zone {
  const zone: Zone = {};
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith(';')) continue;
    // owner [ttl] [class] type rdata — TTL and class are optional, in either order.
    const match = /^(\S+)(?:\s+(?:\d+|IN))*\s+([A-Z]+)(?:\s+(.*))?$/.exec(line);
    if (!match) continue;
    const [, owner = '', type = '', rest = ''] = match;
    if (!TYPES.has(type)) continue;
    const name = owner.toLowerCase().replace(/\.$/, '');
    const node: ZoneNode = zone[name] ?? {};
    zone[name] = node;
    if (type === 'TXT') {
      const strings = tokenize(rest);
      node.TXT = [...(node.TXT ?? []), strings.length > 0 ? strings : ['']];
    } else if (type === 'CNAME') {
      node.CNAME = [rest.trim()];
    } else if (type === 'A') {
      node.A = [...(node.A ?? []), rest.trim()];
    }
  }
  return zone;
}

export function loadCorpusZone(relativePath: string): Zone {
  return parseZoneFile(readFileSync(`${CORPUS_DIR}/${relativePath}`, 'utf8'));
}
