export * from './domains.service.ts';
export * from './families.ts';
export * from './fingerprint.ts';
export * from './record-run.ts';
export * from './run-check-job.ts';
export * from './runners.ts';
export * from './scheduler.ts';
