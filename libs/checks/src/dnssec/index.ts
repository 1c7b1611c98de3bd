export * from './algorithms.ts';
export { type DenialOutcome, NSEC3_MAX_ITERATIONS, nsec3Hash } from './denial.ts';
export * from './dnssec.ts';
export { dnssecFindings } from './dnssec-findings.ts';
export * from './trust-anchors.ts';
export * from './validator.ts';
export { compareNames, keyTagOf } from './wire.ts';
