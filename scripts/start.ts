/**
 * Runs the service on this machine: creates the roles and database when a superuser URL is at hand,
 * applies migrations, then starts the API and the worker as child processes and stops them
 * together on Ctrl-C or SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ConfigError, parseDeploymentMode } from '@mailwarden/core';
import { loadDatabaseConfig, runMigrations, setupDatabase } from '@mailwarden/db';

const mode = parseDeploymentMode(process.env.MAILWARDEN_ENV);
const env = { ...process.env };
// In development the local superuser creates roles and the database; production passes its own.
if (mode !== 'production' && env.DATABASE_ADMIN_URL === undefined) {
  env.DATABASE_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
}
// The API seals webhook secrets that the worker opens: outside production both children get the
// same key for this run (each would otherwise make up its own). Production sets ENCRYPTION_KEY.
if (mode !== 'production' && !env.ENCRYPTION_KEY) env.ENCRYPTION_KEY = randomBytes(32).toString('base64');

try {
  const db = loadDatabaseConfig(env, mode);
  if (db.DATABASE_ADMIN_URL) {
    await setupDatabase({
      adminUrl: db.DATABASE_ADMIN_URL,
      migrationUrl: db.MIGRATION_DATABASE_URL,
      appUrl: db.DATABASE_URL,
    });
  }
  await runMigrations(db.MIGRATION_DATABASE_URL);
  console.log('mailwarden: database ready');
} catch (err) {
  console.error(
    err instanceof ConfigError ? err.message : `mailwarden: database setup failed: ${(err as Error).message}`,
  );
  process.exit(1);
}

const children: ChildProcess[] = [];
let stopping = false;

/**
 * V8 flags every Mailwarden process runs with (the Dockerfile sets the same in NODE_OPTIONS). Node 24
 * grows the young generation to 64 MB semi-spaces while the ESM loader builds our module graph and
 * never gives the pages back: 300 MB RSS before the first request. An 8 MB semi-space keeps a
 * worker at about 160 MB loaded, with no measurable cost to the report ingest (bench/report-ingest).
 */
const NODE_FLAGS = ['--max-semi-space-size=8'];

function run(name: string, entry: string) {
  const child = spawn(process.execPath, [...NODE_FLAGS, entry], { env, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`mailwarden: ${name} exited (${code ?? signal}); stopping the rest`);
      stop(1);
    }
  });
  children.push(child);
}

function stop(exitCode: number) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
  ).then(() => process.exit(exitCode));
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

run('api', 'apps/api/src/server.ts');
run('worker', 'apps/worker/src/main.ts');
console.log(
  `mailwarden: api on http://${env.API_HOST ?? '127.0.0.1'}:${env.API_PORT ?? '3000'} (docs at /docs)`,
);
