/**
 * The `tag=value; tag=value` syntax shared by DKIM key records (RFC 6376 §3.2), DMARC
 * (RFC 7489 §6.4, RFC 9989 §4.7), TLS-RPT (RFC 8460 §3) and BIMI assertion records. Each protocol
 * narrows it (case of names, allowed values); this parser only splits and reports what it could
 * not split, so a hostile record ends in data, never in a throw.
 *
 * Whitespace: RFC 6376 §3.2 allows FWS around tag names, "=" and values; DMARC allows *WSP around
 * "=" and ";". We accept SP, HTAB, CR and LF in all those places (a folded record is still the
 * same record) and strip them at both ends of names and values.
 */

export interface Tag {
  /** As written, or lower-cased when the caller asked for case-insensitive names. */
  name: string;
  /** Trimmed of surrounding whitespace; inner whitespace is kept for the caller to judge. */
  value: string;
  /** 0-based position among the tags, for "must be the first tag" rules. */
  index: number;
}

export type TagListProblemKind = 'missing_equals' | 'bad_name';

export interface TagListProblem {
  kind: TagListProblemKind;
  /** The offending `tag-spec`, truncated for evidence. */
  text: string;
}

export interface TagList {
  tags: Tag[];
  problems: TagListProblem[];
  /** Tag names that occur more than once (RFC 6376 §3.2: the whole tag-list is then invalid). */
  duplicates: string[];
}

export interface ParseTagListOptions {
  /** DMARC and BIMI names are ABNF literals, hence case-insensitive; DKIM and TLS-RPT are not. */
  lowerCaseNames: boolean;
}

/** RFC 6376 §3.2: tag-name = ALPHA *ALNUMPUNC, ALNUMPUNC = ALPHA / DIGIT / "_". */
const TAG_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const EDGE_WHITESPACE = /^[ \t\r\n]+|[ \t\r\n]+$/g;
/** Evidence never carries more than this much of one hostile tag. */
const MAX_PROBLEM_TEXT_CHARS = 80;

export function trimWsp(text: string): string {
  return text.replace(EDGE_WHITESPACE, '');
}

export function parseTagList(text: string, options: ParseTagListOptions): TagList {
  const tags: Tag[] = [];
  const problems: TagListProblem[] = [];
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const segment of text.split(';')) {
    const spec = trimWsp(segment);
    // Empty tag-specs ("a=1;;b=2", a trailing ";") carry nothing; receivers skip them.
    if (spec === '') continue;
    const equals = spec.indexOf('=');
    if (equals < 0) {
      problems.push({ kind: 'missing_equals', text: spec.slice(0, MAX_PROBLEM_TEXT_CHARS) });
      continue;
    }
    const rawName = trimWsp(spec.slice(0, equals));
    if (!TAG_NAME.test(rawName)) {
      problems.push({ kind: 'bad_name', text: spec.slice(0, MAX_PROBLEM_TEXT_CHARS) });
      continue;
    }
    const name = options.lowerCaseNames ? rawName.toLowerCase() : rawName;
    if (seen.has(name)) duplicates.add(name);
    seen.add(name);
    tags.push({ name, value: trimWsp(spec.slice(equals + 1)), index: tags.length });
  }
  return { tags, problems, duplicates: [...duplicates] };
}

/** The first value of each tag name: what a receiver that tolerates duplicates would read. */
export function firstValues(list: TagList): Map<string, string> {
  const values = new Map<string, string>();
  for (const tag of list.tags) {
    if (!values.has(tag.name)) values.set(tag.name, tag.value);
  }
  return values;
}
