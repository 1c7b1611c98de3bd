/**
 * Every queue Mailwarden uses, in one place. Values are the BullMQ queue names (kebab-case) and
 * become part of Redis keys (`<prefix>:<queue>:…`), so renaming one strands the jobs already queued
 * under the old name: add names, do not rename them.
 */
export const queueNames = {
  /** Operational jobs that prove the pipeline works end to end (`echo`). */
  system: 'system',
  /** The scheduler tick, the outbox sweeper and the retention purge (repeatable jobs). */
  scheduler: 'scheduler',
  /** One queue per check family, so each family has its own concurrency (DESIGN.md §2.3). */
  checksDns: 'checks-dns',
  checksDnssec: 'checks-dnssec',
  checksTls: 'checks-tls',
  checksBlocklist: 'checks-blocklist',
  /** Turning events into deliveries, and delivering them. */
  webhooks: 'webhooks',
  /** Parsing stored raw reports into report rows (issue 6). */
  reports: 'reports',
  /** Polling tenants' IMAP mailboxes for report mail (issue 6 §1c): network-bound, its own concurrency. */
  reportMailboxes: 'report-mailboxes',
} as const;

export type QueueName = (typeof queueNames)[keyof typeof queueNames];

export const allQueueNames: readonly QueueName[] = Object.values(queueNames);
