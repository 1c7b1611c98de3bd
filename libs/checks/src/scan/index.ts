export {
  DEFAULT_SCAN_DEADLINE_MS,
  normalizeScanDomain,
  SCAN_CHECKS,
  type ScanCheckName,
  type ScanCheckResult,
  type ScanFailureFacts,
  type ScanFetchContext,
  type ScanFetchPolicy,
  type ScanFetchResource,
  type ScanOptions,
  type ScanReport,
  scanDomain,
} from './scan-domain.ts';
