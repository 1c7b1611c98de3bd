export {
  isTlsRptRecord,
  parseTlsRptRecord,
  TLSRPT_URI_SCHEMES,
  type TlsRptRecord,
  type TlsRptUri,
} from './record.ts';
export { checkTlsRpt, type TlsRptCheckInput, type TlsRptFacts } from './tls-rpt.ts';
export { tlsRptFindings } from './tls-rpt-findings.ts';
