export * from './client.ts';
export * from './database-config.ts';
export * from './migrate.ts';
export * from './pool.ts';
export * as schema from './schema/index.ts';
export {
  type CheckFamily,
  type CheckRunRow,
  checkFamilies,
  type DeliveryState,
  type DmarcReportRow,
  type DomainProbeOptions,
  type DomainRow,
  type EndpointFormat,
  type EventType,
  eventTypes,
  type FindingRow,
  type MailboxAfterStore,
  type MailboxAuthKind,
  type MailboxSecurity,
  type MonitoringEventRow,
  mailboxAfterStoreActions,
  mailboxAuthKinds,
  mailboxSecurityModes,
  maxRawReportBytes,
  type RawReportRow,
  type RawReportState,
  type ReportIntake,
  type ReportMailboxRow,
  rawReportStates,
  reportIntakes,
  type SeverityLevel,
  severityLevels,
  type TlsReportRow,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
} from './schema/index.ts';
export * from './setup.ts';
export * from './tenant-tx.ts';
