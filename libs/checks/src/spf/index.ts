/**
 * SPF (RFC 7208): `evaluate` is check_host() for one connection; `analyseSpf` is the monitoring
 * view of a domain's policy (evaluation tree, lookup accounting, findings).
 */
export { analyseSpf, MIN_SAFE_IPV4_PREFIX, MIN_SAFE_IPV6_PREFIX, type SpfFacts } from './analyse.ts';
export { evaluate, type SpfEvaluation, type SpfEvaluationInput, type SpfResult } from './evaluate.ts';
export { type SpfFindingKey, spfFindings } from './findings.ts';
export { type MacroToken, parseMacroString } from './macro.ts';
export {
  type DomainSpec,
  type Mechanism,
  type MechanismName,
  type Modifier,
  type ParsedSpf,
  parseSpfRecord,
  type Qualifier,
  type SpfSyntaxError,
  type Term,
} from './parse.ts';
export {
  isSpfRecord,
  MAX_DNS_MECHANISMS,
  MAX_MX_OR_PTR_NAMES,
  MAX_UDP_FRIENDLY_OCTETS,
  MAX_VOID_LOOKUPS,
  type SpfSelection,
  selectSpfRecord,
} from './record.ts';
export type { FamilyCounts, SpfNode, SpfNodeStatus, SpfTermView, UnknownLookup } from './tree-model.ts';
