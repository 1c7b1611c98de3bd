export { type InboundConfig, loadInboundConfig } from './config.ts';
