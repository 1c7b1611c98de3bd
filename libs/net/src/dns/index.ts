export { createDnsClient, type DnsClient, type DnsClientStats } from './client.ts';
export type { DnsCacheOptions, DnsClientOptions, DnsLimits } from './options.ts';
export { decodeTxtString, keyTag } from './rdata.ts';
export {
  type DnsServerAddress,
  formatDnsServer,
  parseDnsServer,
  parseDnsServers,
  readSystemDnsServers,
} from './servers.ts';
