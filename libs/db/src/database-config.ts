import { type DeploymentMode, parseConfig, str, url } from '@mailwarden/core';

const pgProtocols = ['postgres:', 'postgresql:'];

/** The database variables shared by every app and the migrate command (DESIGN.md §4). */
export const databaseVariables = {
  DATABASE_URL: url(
    'Postgres URL of the app role (not owner, not superuser, no BYPASSRLS)',
    pgProtocols,
    (mode) => (mode === 'production' ? undefined : 'postgres://mailwarden@127.0.0.1:5432/mailwarden'),
  ),
  MIGRATION_DATABASE_URL: url('Postgres URL of the owner role that runs migrations', pgProtocols, (mode) =>
    mode === 'production' ? undefined : 'postgres://mailwarden_owner@127.0.0.1:5432/mailwarden',
  ),
  DATABASE_ADMIN_URL: {
    ...str('Postgres superuser URL used only to create roles and the database; empty to skip', ''),
    secret: true,
    parse: (raw: string) => url('', pgProtocols).parse(raw),
  },
};

export function loadDatabaseConfig(env: Record<string, string | undefined>, mode: DeploymentMode) {
  return parseConfig(databaseVariables, env, mode);
}
