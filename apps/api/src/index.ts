/** What cross-app tests (test/) and tools need to build the API without its process wrapper. */
export { buildApp } from './app.ts';
export { type ApiConfig, loadApiConfig } from './config.ts';
export { type ApiContainer, createApiContainer } from './container.ts';
export { fastifyOptions } from './fastify-options.ts';
