export * from './analyse-mx-probe.ts';
export * from './probe-input.ts';
export * from './smtp-findings.ts';
