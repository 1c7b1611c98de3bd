export * from './sender-name.ts';
export * from './sending-providers.ts';
