/**
 * The API process: build, listen, and on SIGTERM/SIGINT stop taking connections, let in-flight
 * requests finish, then close the database and Redis. Nothing here is needed by tests.
 */
import { ConfigError } from '@mailwarden/core';
import closeWithGrace from 'close-with-grace';
import Fastify from 'fastify';
import { buildApp } from './app.ts';
import { loadApiConfig } from './config.ts';
import { createApiContainer } from './container.ts';
import { fastifyOptions } from './fastify-options.ts';

let config: ReturnType<typeof loadApiConfig>;
try {
  config = loadApiConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

const container = createApiContainer(config);
const app = Fastify(fastifyOptions(config));
await app.register(buildApp(config, container));
app.addHook('onClose', async () => container.close());

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error');
  else app.log.info({ signal }, 'shutting down');
  await app.close();
});

await app.listen({ host: config.API_HOST, port: config.API_PORT });
