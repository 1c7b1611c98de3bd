export { checkDkim, type DkimCheckInput, type DkimFacts, type DkimSelectorFacts } from './dkim.ts';
export { dkimFindings } from './dkim-findings.ts';
export type { DkimKeyFacts } from './key-findings.ts';
export { type DkimKeyRecord, parseDkimKeyRecord } from './key-record.ts';
export {
  analysePublicKey,
  RSA_MAX_REQUIRED_BITS,
  RSA_MIN_BITS,
  RSA_RECOMMENDED_BITS,
} from './public-key.ts';
export { COMMON_DKIM_SELECTORS, MAX_SELECTORS_PER_DOMAIN, normalizeSelector } from './selectors.ts';
