export * from './dovecot-server.ts';
export * from './oauth-provider.ts';
export * from './report-mail.ts';
