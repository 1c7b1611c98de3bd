export {
  type DiscoveryResult,
  TREE_WALK_MAX_QUERIES,
  TREE_WALK_SHORTCUT_LABELS,
  treeWalkNames,
} from './discovery.ts';
export { checkDmarc, type DmarcCheckInput, type DmarcFacts } from './dmarc.ts';
export { dmarcFindings } from './dmarc-findings.ts';
export { organizationalDomain } from './org-domain.ts';
export type { PolicyFacts } from './policy.ts';
export {
  type DmarcPolicy,
  type DmarcRecord,
  isDmarcRecord,
  POLICY_STRENGTH,
  parseDmarcRecord,
} from './record.ts';
export {
  MAX_DESTINATIONS_VERIFIED,
  MAX_REPORT_URIS_PER_TAG,
  type ReportDestination,
} from './report-destinations.ts';
export type { ReportUri } from './report-uri.ts';
