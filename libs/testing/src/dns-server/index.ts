export type { DnsFault } from './faults.ts';
export type {
  FixtureData,
  FixtureDnskey,
  FixtureDs,
  FixtureNode,
  FixtureNsec,
  FixtureNsec3,
  FixtureRRset,
  FixtureRrsig,
  FixtureValue,
  RawRdata,
  ZoneSpec,
  Zones,
} from './fixtures.ts';
export { encodeName, encodeRdata, encodeRr, encodeTypeBitmap, typeCode, typeName } from './rr-wire.ts';
export {
  type DnsQueryLogEntry,
  type DnsServerOptions,
  startDnsServer,
  type TestDnsServer,
} from './server.ts';
