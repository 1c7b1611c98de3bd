export * from './analyse-mta-sts.ts';
export * from './mta-sts-findings.ts';
export * from './policy.ts';
export * from './record.ts';
