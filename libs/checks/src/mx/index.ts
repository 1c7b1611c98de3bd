export * from './analyse-mx.ts';
export * from './mx-findings.ts';
export * from './providers.ts';
export { reverseName } from './reverse-name.ts';
