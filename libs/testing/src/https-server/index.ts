export * from './canary.ts';
export * from './https-server.ts';
