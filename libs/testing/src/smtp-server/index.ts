export * from './raw-fixture.ts';
export * from './smtp-fixture.ts';
export * from './weak-certs.ts';
