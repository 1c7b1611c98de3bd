import Fastify from 'fastify';
import { buildApp } from './app.ts';
import { loadApiConfig } from './config.ts';
import { createApiContainer } from './container.ts';
import { fastifyOptions } from './fastify-options.ts';

/**
 * Builds the app without listening and returns its OpenAPI document as stable, pretty JSON. The
 * container's connections are lazy, so this needs neither Postgres nor Redis to be running.
 */
export async function renderOpenApi(): Promise<string> {
  const config = loadApiConfig({
    MAILWARDEN_ENV: 'development',
    LOG_LEVEL: 'silent',
    // The document names the public server; generation must not depend on the machine it runs on.
    PUBLIC_BASE_URL: 'http://127.0.0.1:3000',
    ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
  });
  const container = createApiContainer(config, { lazy: true });
  const app = Fastify(fastifyOptions(config));
  try {
    await app.register(buildApp(config, container));
    await app.ready();
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
    await container.close();
  }
}
