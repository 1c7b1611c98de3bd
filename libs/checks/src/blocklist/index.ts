export * from './blocklist.ts';
export * from './blocklist-findings.ts';
export * from './lists.ts';
export {
  type CodeOutcome,
  classifyCode,
  domainQueryName,
  interpretAnswer,
  ipQueryName,
  type ListAnswer,
} from './query.ts';
export * from './subjects.ts';
