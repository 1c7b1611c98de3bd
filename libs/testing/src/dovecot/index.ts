export * from './dovecot-server.ts';
export * from './report-mail.ts';
