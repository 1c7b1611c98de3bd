export { canonical, compareCanonical, fromBase32hex, nsec3HashOf, toBase32hex, wireName } from './names.ts';
export {
  type Denial,
  dsFor,
  generateTestKey,
  type KeyOptions,
  keyTag,
  type SignatureTamper,
  type SignZoneOptions,
  signZone,
  type TestKey,
  trustAnchorLines,
} from './signer.ts';
