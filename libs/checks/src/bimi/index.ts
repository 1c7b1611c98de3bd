export { LOGO_FETCH_BYTES } from './assets.ts';
export { type BimiCheckInput, type BimiFacts, checkBimi } from './bimi.ts';
export { bimiFindings } from './bimi-findings.ts';
export { DEFAULT_SELECTOR } from './discovery.ts';
export { type DmarcEnforcement, dmarcEnforcement } from './dmarc-requirement.ts';
export { type EvidenceCertificate, MAX_EVIDENCE_BYTES } from './evidence.ts';
export {
  type FetchOptions,
  type FetchResource,
  type FetchResult,
  TRANSIENT_FETCH_REASONS,
} from './fetch.ts';
export { type BimiRecord, isBimiRecord, parseBimiRecord } from './record.ts';
export { analyseSvg, MAX_SVG_BYTES, SVG_TINY_PS_ELEMENTS } from './svg.ts';
