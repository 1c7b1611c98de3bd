/**
 * The real API, every plugin on, listening on a loopback port: what the API benchmarks measure.
 * `env` is the configuration as an operator would set it.
 */
export async function listenApi(env: Record<string, string | undefined>): Promise<number> {
  const { default: Fastify } = await import('fastify');
  const { buildApp } = await import('../../apps/api/src/app.ts');
  const { loadApiConfig } = await import('../../apps/api/src/config.ts');
  const { createApiContainer } = await import('../../apps/api/src/container.ts');
  const { fastifyOptions } = await import('../../apps/api/src/fastify-options.ts');
  const config = loadApiConfig(env);
  const container = createApiContainer(config);
  const app = Fastify(fastifyOptions(config));
  await app.register(buildApp(config, container));
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as { port: number }).port;
}
