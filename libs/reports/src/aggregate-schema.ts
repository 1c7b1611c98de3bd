/**
 * The DMARC aggregate element table (RFC 7489 Appendix C, RFC 9990): numeric contexts for the
 * containers, numeric fields (>= F_FIRST) for the leaves whose text is captured, and which
 * children each container knows. Names are matched by local name, so prefixes do not matter.
 */

// Contexts: what the innermost open element is. Fields (>= F_FIRST) capture their text.
export const C_OUTSIDE = 0;
export const C_FEEDBACK = 1;
export const C_META = 2;
export const C_RANGE = 3;
export const C_POLICY = 4;
export const C_RECORD = 5;
export const C_ROW = 6;
export const C_EVAL = 7;
export const C_REASON = 8;
export const C_IDENT = 9;
export const C_AUTH = 10;
export const C_AUTH_DKIM = 11;
export const C_AUTH_SPF = 12;
export const C_IGNORE = 13;

export const F_FIRST = 100;
export const F_VERSION = 100;
export const F_ORG = 101;
export const F_EMAIL = 102;
export const F_EXTRA = 103;
export const F_REPORT_ID = 104;
export const F_ERROR = 105;
export const F_GENERATOR = 106;
export const F_BEGIN = 107;
export const F_END = 108;
export const F_DOMAIN = 109;
export const F_ADKIM = 110;
export const F_ASPF = 111;
export const F_P = 112;
export const F_SP = 113;
export const F_PCT = 114;
export const F_NP = 115;
export const F_FO = 116;
export const F_TESTING = 117;
export const F_DISCOVERY = 118;
export const F_SOURCE_IP = 119;
export const F_COUNT = 120;
export const F_DISPOSITION = 121;
export const F_EVAL_DKIM = 122;
export const F_EVAL_SPF = 123;
export const F_REASON_TYPE = 124;
export const F_REASON_COMMENT = 125;
export const F_HEADER_FROM = 126;
export const F_ENVELOPE_FROM = 127;
export const F_ENVELOPE_TO = 128;
export const F_AUTH_DOMAIN = 129;
export const F_AUTH_SELECTOR = 130;
export const F_AUTH_RESULT = 131;
export const F_AUTH_SCOPE = 132;
export const F_AUTH_HUMAN = 133;

export type ChildTable = Readonly<Record<string, number>>;

/** For each container context, the contexts or fields of its known children. */
const TABLES: ChildTable[] = [];
const CHILDREN = TABLES;
CHILDREN[C_FEEDBACK] = {
  version: F_VERSION,
  report_metadata: C_META,
  policy_published: C_POLICY,
  record: C_RECORD,
};
CHILDREN[C_META] = {
  org_name: F_ORG,
  email: F_EMAIL,
  extra_contact_info: F_EXTRA,
  report_id: F_REPORT_ID,
  error: F_ERROR,
  generator: F_GENERATOR,
  date_range: C_RANGE,
};
CHILDREN[C_RANGE] = { begin: F_BEGIN, end: F_END };
CHILDREN[C_POLICY] = {
  domain: F_DOMAIN,
  adkim: F_ADKIM,
  aspf: F_ASPF,
  p: F_P,
  sp: F_SP,
  pct: F_PCT,
  np: F_NP,
  fo: F_FO,
  testing: F_TESTING,
  discovery_method: F_DISCOVERY,
};
CHILDREN[C_RECORD] = { row: C_ROW, identifiers: C_IDENT, auth_results: C_AUTH };
CHILDREN[C_ROW] = { source_ip: F_SOURCE_IP, count: F_COUNT, policy_evaluated: C_EVAL };
CHILDREN[C_EVAL] = { disposition: F_DISPOSITION, dkim: F_EVAL_DKIM, spf: F_EVAL_SPF, reason: C_REASON };
CHILDREN[C_REASON] = { type: F_REASON_TYPE, comment: F_REASON_COMMENT };
CHILDREN[C_IDENT] = {
  header_from: F_HEADER_FROM,
  envelope_from: F_ENVELOPE_FROM,
  envelope_to: F_ENVELOPE_TO,
};
CHILDREN[C_AUTH] = { dkim: C_AUTH_DKIM, spf: C_AUTH_SPF };
CHILDREN[C_AUTH_DKIM] = {
  domain: F_AUTH_DOMAIN,
  selector: F_AUTH_SELECTOR,
  result: F_AUTH_RESULT,
  human_result: F_AUTH_HUMAN,
};
CHILDREN[C_AUTH_SPF] = {
  domain: F_AUTH_DOMAIN,
  scope: F_AUTH_SCOPE,
  result: F_AUTH_RESULT,
  human_result: F_AUTH_HUMAN,
};

/**
 * The same tables as Maps, which is what the parser looks names up in: a Map finds a freshly
 * sliced tag name about twice as fast as an object property does (no internalisation).
 */
export const CHILD_MAPS: ReadonlyMap<string, number>[] = TABLES.map(
  (table) => new Map(Object.entries(table)),
);

export function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}
