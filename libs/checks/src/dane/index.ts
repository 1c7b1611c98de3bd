export {
  checkDane,
  type DaneCheckOptions,
  type DaneFacts,
  type DaneHostFacts,
  MAX_DANE_MX_HOSTS,
  tlsaNameFor,
} from './dane.ts';
export { daneFindings } from './dane-findings.ts';
export {
  analyseTlsaRecord,
  type MatchTlsaOptions,
  matchTlsa,
  TLSA_MATCHING,
  TLSA_SELECTOR,
  TLSA_USAGE,
  type TlsaMatchResult,
  type TlsaProblem,
  type TlsaRecordAnalysis,
  type TlsaRecordMatch,
} from './tlsa.ts';
