export * from './cidr.ts';
export * from './classify.ts';
export * from './connect.ts';
export * from './ip.ts';
export * from './vet.ts';
