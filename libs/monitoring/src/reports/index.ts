export * from './failure-reports.ts';
export * from './imap/index.ts';
export * from './ingest.ts';
export * from './raw-reports.ts';
export * from './reports.service.ts';
export * from './source-names.ts';
