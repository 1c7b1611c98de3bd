/**
 * The DKIM key record (RFC 6376 §3.6.1), published as TXT at `<selector>._domainkey.<domain>`.
 *
 * Tag names are case-sensitive (§3.2); a tag appearing twice makes the whole record invalid (§3.2);
 * unknown tags are ignored (§3.2). Values that are ABNF literals (k, h, s, t) are compared in lower
 * case, as verifiers do.
 */
import { clip } from '../shared/dns-name.ts';
import { parseTagList } from '../shared/tag-list.ts';

/** RFC 6376 §3.6.1 k=, RFC 8463 §4.2: the key types verifiers know. */
export const KNOWN_KEY_TYPES: ReadonlySet<string> = new Set(['rsa', 'ed25519']);
/** RFC 6376 §3.6.1 h=: sha1 and sha256 are defined; RFC 8301 §3.1 forbids sha1. */
export const USABLE_HASH_ALGORITHMS: ReadonlySet<string> = new Set(['sha256']);

export type KeyRecordProblem =
  | { kind: 'syntax'; reason: string }
  | { kind: 'unknown_key_type'; value: string }
  | { kind: 'deprecated'; tag: string; value: string; reason: string };

export interface DkimKeyRecord {
  raw: string;
  /** The v= value when present. */
  version: string | null;
  /** k=, lower-cased; "rsa" when absent (§3.6.1 default). */
  keyType: string;
  /** p= with whitespace removed; "" means revoked (§3.6.1). Null when the tag is missing. */
  publicKey: string | null;
  /** h=, lower-cased; null when absent (every algorithm allowed). */
  hashAlgorithms: string[] | null;
  /** s=, lower-cased; null when absent ("*"). */
  services: string[] | null;
  /** t=, lower-cased. */
  flags: string[];
  /** False when a verifier would discard the record (bad v=, duplicate tags, missing p=). */
  usable: boolean;
  problems: KeyRecordProblem[];
}

const VERSION = 'DKIM1';
const WHITESPACE = /[ \t\r\n]+/g;

function colonList(value: string): string[] {
  return value
    .split(':')
    .map((item) => item.replace(WHITESPACE, '').toLowerCase())
    .filter((item) => item !== '');
}

/** True when a TXT record is plausibly meant as a DKIM key (used to ignore wildcard TXT noise). */
export function looksLikeKeyRecord(text: string): boolean {
  return /(?:^|;)[ \t\r\n]*(?:v[ \t\r\n]*=[ \t\r\n]*DKIM1|p[ \t\r\n]*=)/.test(text);
}

export function parseDkimKeyRecord(raw: string): DkimKeyRecord {
  const list = parseTagList(raw, { lowerCaseNames: false });
  const problems: KeyRecordProblem[] = [];
  const tags = new Map(list.tags.map((t) => [t.name, t] as const));
  for (const problem of list.problems) {
    problems.push({
      kind: 'syntax',
      reason: `${problem.kind === 'missing_equals' ? 'not tag=value' : 'bad tag name'}: "${clip(problem.text, 40)}"`,
    });
  }
  for (const name of list.duplicates) {
    problems.push({
      kind: 'syntax',
      reason: `tag ${name} appears more than once, which makes the record invalid (RFC 6376 §3.2)`,
    });
  }
  const version = tags.get('v');
  const versionBad = version !== undefined && (version.index !== 0 || version.value !== VERSION);
  if (version && versionBad) {
    problems.push({
      kind: 'syntax',
      reason:
        version.index !== 0
          ? 'v= must be the first tag (RFC 6376 §3.6.1)'
          : `v=${clip(version.value, 40)} is not DKIM1; verifiers discard the record (RFC 6376 §3.6.1)`,
    });
  }
  const keyType = (tags.get('k')?.value ?? 'rsa').toLowerCase();
  if (!KNOWN_KEY_TYPES.has(keyType)) problems.push({ kind: 'unknown_key_type', value: clip(keyType, 40) });
  const p = tags.get('p');
  if (!p)
    problems.push({
      kind: 'syntax',
      reason: 'the p= tag (public key) is missing; it is required (RFC 6376 §3.6.1)',
    });
  const granularity = tags.get('g');
  if (granularity && granularity.value !== '*' && granularity.value !== '') {
    problems.push({
      kind: 'deprecated',
      tag: 'g',
      value: clip(granularity.value, 40),
      reason: 'g= was removed by RFC 6376; RFC 4871 verifiers restrict the signing address with it',
    });
  }
  const h = tags.get('h');
  const s = tags.get('s');
  const t = tags.get('t');
  const usable = list.duplicates.length === 0 && !versionBad && p !== undefined;
  return {
    raw,
    version: version?.value ?? null,
    keyType,
    publicKey: p ? p.value.replace(WHITESPACE, '') : null,
    hashAlgorithms: h ? colonList(h.value) : null,
    services: s ? colonList(s.value) : null,
    flags: t ? colonList(t.value) : [],
    usable,
    problems,
  };
}
