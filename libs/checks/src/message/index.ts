export * from './check-message.ts';
export { DEFAULT_MESSAGE_DNS_BUDGET, mailauthResolver } from './mailauth-resolver.ts';
export * from './message-findings.ts';
export { MIME_LIMITS, type OtherPart, parseMime } from './mime.ts';
export { URL_LIMITS } from './urls.ts';
