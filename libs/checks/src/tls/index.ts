export * from './analyse-tls.ts';
export * from './certificate.ts';
export * from './hostname.ts';
export * from './tls-findings.ts';
