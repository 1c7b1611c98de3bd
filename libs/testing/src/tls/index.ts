export * from './test-ca.ts';
