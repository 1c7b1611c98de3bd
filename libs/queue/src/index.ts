export * from './connection.ts';
export * from './job-id.ts';
export * from './job-types.ts';
export * from './live-events.ts';
export * from './producer.ts';
export * from './queue-names.ts';
