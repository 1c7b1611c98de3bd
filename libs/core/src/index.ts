export * from './clock.ts';
export * from './config.ts';
export * from './dns.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './ip.ts';
export * from './logger.ts';
export * from './secret-box.ts';
