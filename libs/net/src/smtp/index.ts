export { DEFAULT_PROBE_LIMITS, type ProbeLimits } from './conversation.ts';
export * from './limiter.ts';
export * from './probe-mx.ts';
export { DEFAULT_MAIL_SERVICES } from './services.ts';
export { CIPHER_CATEGORY_STRINGS, cipherSuiteOfferable } from './tls-handshake.ts';
export * from './types.ts';
