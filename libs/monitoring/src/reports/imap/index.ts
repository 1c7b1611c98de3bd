export * from './imap-errors.ts';
export * from './mailbox-poller.ts';
export * from './report-mailboxes.service.ts';
