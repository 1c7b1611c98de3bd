/**
 * The DMARC policy record: recognising it, parsing it and validating every tag.
 *
 * Sources: RFC 7489 §6.3 (tags), §6.4 (ABNF), §6.6.3 (discovery and invalid policies) and
 * RFC 9989 §4.7 (tags: adds np, psd, t; removes pct, rf, ri), §4.10.1 (records without a valid
 * policy). Tag names and literal values are ABNF strings, hence case-insensitive (RFC 5234 §2.3);
 * the version value is matched exactly (RFC 7489 §6.3 "MUST match precisely").
 */
import { firstValues, parseTagList } from '../shared/tag-list.ts';
import { parseReportUris, type ReportUri } from './report-uri.ts';

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

/** Higher is stronger; used to compare p, sp and np. */
export const POLICY_STRENGTH: Readonly<Record<DmarcPolicy, number>> = { none: 0, quarantine: 1, reject: 2 };

/** RFC 7489 §6.3: pct is an integer from 0 to 100, default 100. */
export const PCT_MAX = 100;
/** RFC 7489 §6.3: ri is a 32-bit unsigned integer (seconds). */
export const RI_MAX = 0xffff_ffff;

export type RecordProblem =
  | { kind: 'syntax'; reason: string; text?: string }
  | { kind: 'invalid'; tag: string; value: string; reason: string }
  | { kind: 'unknown_tag'; tag: string; value: string }
  | { kind: 'deprecated'; tag: string; value: string; reason: string };

/**
 * What a receiver makes of the record's policy (RFC 7489 §6.6.3 step 6, RFC 9989 §4.10.1): a
 * record whose p (or sp, or np) is missing or invalid counts as p=none when rua holds at least one
 * syntactically valid URI, and is ignored entirely otherwise.
 */
export type RecordUsability = 'valid' | 'treated_as_none' | 'unusable';

export interface DmarcRecord {
  raw: string;
  /** First value of every tag, names lower-cased. */
  tags: Record<string, string>;
  p: DmarcPolicy | null;
  sp: DmarcPolicy | null;
  np: DmarcPolicy | null;
  pct: number | null;
  adkim: 'r' | 's' | null;
  aspf: 'r' | 's' | null;
  fo: string[] | null;
  ri: number | null;
  rf: string[] | null;
  psd: 'y' | 'n' | 'u' | null;
  t: 'y' | 'n' | null;
  rua: ReportUri[];
  ruf: ReportUri[];
  usability: RecordUsability;
  problems: RecordProblem[];
}

/* RFC 7489 §6.4: dmarc-version = "v" *WSP "=" *WSP %x44.4d.41.52.43.31 — the tag name is an ABNF
 * string (any case), the value is given in hex (exactly "DMARC1"). */
const VERSION = /^[ \t\r\n]*[vV][ \t\r\n]*=[ \t\r\n]*DMARC1[ \t\r\n]*(?:;|$)/;
const MENTIONS_DMARC = /v[ \t]*=[ \t]*dmarc/i;

/** RFC 7489 §6.6.3 step 2: only records that start with `v=DMARC1` are DMARC records. */
export function isDmarcRecord(text: string): boolean {
  return VERSION.test(text);
}

/**
 * A TXT record that was meant to be DMARC but is ignored (wrong case `v=dmarc1`, `v=DMARC1` not
 * first, a typo in the version): worth telling the owner, because receivers see no record.
 */
export function looksLikeIgnoredDmarc(text: string): boolean {
  return !isDmarcRecord(text) && MENTIONS_DMARC.test(text);
}

const POLICY = /^(none|quarantine|reject)$/i;
const ALIGNMENT = /^[rs]$/i;
const FO = /^[01ds](?:[ \t]*:[ \t]*[01ds])*$/i;
const RF = /^[a-z][a-z0-9-]*(?:[ \t]*:[ \t]*[a-z][a-z0-9-]*)*$/i;
const PSD = /^[ynu]$/i;
const YES_NO = /^[yn]$/i;
/** RFC 7489 §6.3 rf: afrf is the only registered failure-report format. */
const KNOWN_REPORT_FORMATS = new Set(['afrf']);

/** Every tag RFC 7489 and RFC 9989 define. */
export const DMARC_TAGS: ReadonlySet<string> = new Set([
  'v',
  'p',
  'sp',
  'np',
  'pct',
  'rua',
  'ruf',
  'adkim',
  'aspf',
  'fo',
  'ri',
  'rf',
  'psd',
  't',
]);
/** RFC 9989 Appendix A (changes from RFC 7489): these tags were removed. */
const REMOVED_IN_9989: Readonly<Record<string, string>> = {
  pct: 'pct was removed by RFC 9989 (use t=y for testing); RFC 7489 receivers still apply it',
  ri: 'ri was removed by RFC 9989; receivers choose the report interval',
  rf: 'rf was removed by RFC 9989; failure reports use one format',
};

function listOf(value: string): string[] {
  return value.split(':').map((item) => item.trim().toLowerCase());
}

function validatePolicyTag(
  tag: string,
  value: string | undefined,
  problems: RecordProblem[],
): DmarcPolicy | null {
  if (value === undefined) return null;
  if (POLICY.test(value)) return value.toLowerCase() as DmarcPolicy;
  problems.push({ kind: 'invalid', tag, value, reason: 'must be none, quarantine or reject' });
  return null;
}

function validateSimpleTags(tags: Map<string, string>, record: DmarcRecord): void {
  const problems = record.problems;
  const check = <T>(tag: string, test: (v: string) => T | null, reason: string): T | null => {
    const value = tags.get(tag);
    if (value === undefined) return null;
    const parsed = test(value);
    if (parsed === null) problems.push({ kind: 'invalid', tag, value, reason });
    return parsed;
  };
  record.pct = check(
    'pct',
    (v) => (/^\d{1,3}$/.test(v) && Number(v) <= PCT_MAX ? Number(v) : null),
    'must be an integer from 0 to 100',
  );
  record.adkim = check(
    'adkim',
    (v) => (ALIGNMENT.test(v) ? (v.toLowerCase() as 'r' | 's') : null),
    'must be r or s',
  );
  record.aspf = check(
    'aspf',
    (v) => (ALIGNMENT.test(v) ? (v.toLowerCase() as 'r' | 's') : null),
    'must be r or s',
  );
  record.fo = check('fo', (v) => (FO.test(v) ? listOf(v) : null), 'must be 0, 1, d or s, separated by ":"');
  record.ri = check(
    'ri',
    (v) => (/^\d{1,10}$/.test(v) && Number(v) <= RI_MAX ? Number(v) : null),
    'must be a 32-bit unsigned number of seconds',
  );
  record.rf = check(
    'rf',
    (v) => (RF.test(v) && listOf(v).every((f) => KNOWN_REPORT_FORMATS.has(f)) ? listOf(v) : null),
    'afrf is the only defined report format',
  );
  record.psd = check(
    'psd',
    (v) => (PSD.test(v) ? (v.toLowerCase() as 'y' | 'n' | 'u') : null),
    'must be y, n or u',
  );
  record.t = check('t', (v) => (YES_NO.test(v) ? (v.toLowerCase() as 'y' | 'n') : null), 'must be y or n');
}

function validateReportTag(tag: 'rua' | 'ruf', value: string | undefined, record: DmarcRecord): ReportUri[] {
  if (value === undefined) return [];
  const { uris, invalid } = parseReportUris(value);
  for (const bad of invalid)
    record.problems.push({ kind: 'invalid', tag, value: bad.text, reason: bad.reason });
  for (const uri of uris) {
    if (uri.sizeLimit !== null) {
      record.problems.push({
        kind: 'deprecated',
        tag,
        value: `${uri.uri}!${uri.sizeLimit}`,
        reason: 'the size limit suffix is obsolete in RFC 9989 and ignored by its reporters',
      });
    }
  }
  return uris;
}

export function parseDmarcRecord(raw: string): DmarcRecord {
  const list = parseTagList(raw, { lowerCaseNames: true });
  const tags = firstValues(list);
  const record: DmarcRecord = {
    raw,
    tags: Object.fromEntries(tags),
    p: null,
    sp: null,
    np: null,
    pct: null,
    adkim: null,
    aspf: null,
    fo: null,
    ri: null,
    rf: null,
    psd: null,
    t: null,
    rua: [],
    ruf: [],
    usability: 'valid',
    problems: [],
  };
  const problems = record.problems;
  for (const problem of list.problems) {
    problems.push({
      kind: 'syntax',
      reason: problem.kind === 'missing_equals' ? 'not tag=value' : 'bad tag name',
      text: problem.text,
    });
  }
  for (const name of list.duplicates) {
    problems.push({
      kind: 'syntax',
      reason: `tag ${name} appears more than once; receivers may read either value`,
      text: name,
    });
  }
  if (!isDmarcRecord(raw))
    problems.push({ kind: 'syntax', reason: 'the record does not start with v=DMARC1' });

  record.p = validatePolicyTag('p', tags.get('p'), problems);
  if (!tags.has('p')) problems.push({ kind: 'invalid', tag: 'p', value: '', reason: 'the p tag is missing' });
  record.sp = validatePolicyTag('sp', tags.get('sp'), problems);
  record.np = validatePolicyTag('np', tags.get('np'), problems);
  validateSimpleTags(tags, record);
  record.rua = validateReportTag('rua', tags.get('rua'), record);
  record.ruf = validateReportTag('ruf', tags.get('ruf'), record);

  for (const tag of list.tags) {
    if (!DMARC_TAGS.has(tag.name)) problems.push({ kind: 'unknown_tag', tag: tag.name, value: tag.value });
  }
  for (const [tag, reason] of Object.entries(REMOVED_IN_9989)) {
    const value = tags.get(tag);
    if (value !== undefined) problems.push({ kind: 'deprecated', tag, value, reason });
  }

  const policyValid =
    record.p !== null && (!tags.has('sp') || record.sp !== null) && (!tags.has('np') || record.np !== null);
  if (!policyValid) {
    // record.rua holds only the syntactically valid URIs.
    record.usability = record.rua.length > 0 ? 'treated_as_none' : 'unusable';
  }
  return record;
}

/** The p, sp and np a receiver applies, after the invalid-policy rule above. */
export function appliedPolicies(
  record: DmarcRecord,
): { p: DmarcPolicy; sp: DmarcPolicy; np: DmarcPolicy } | null {
  if (record.usability === 'unusable') return null;
  if (record.usability === 'treated_as_none') return { p: 'none', sp: 'none', np: 'none' };
  const p = record.p ?? 'none';
  // RFC 7489 §6.3: sp defaults to p. RFC 9989 §4.7: np defaults to sp, then p.
  const sp = record.sp ?? p;
  return { p, sp, np: record.np ?? sp };
}
