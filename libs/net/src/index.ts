export * from './config.ts';
export * from './dns/index.ts';
export * from './http/index.ts';
export * from './smtp/index.ts';
export * from './ssrf/index.ts';
