import type { IResolvers, MercuriusLoaders } from 'mercurius';

/**
 * A GraphQL feature module: resolvers plus per-request loaders. Loaders batch a field across all
 * parents of one query (`Domain.findings` for 100 domains is one SQL statement, not 100), and every
 * loader filters by the caller's tenant like any repository call does.
 */
export interface GraphqlModule {
  resolvers: IResolvers;
  loaders: MercuriusLoaders;
}

export function mergeModules(modules: GraphqlModule[]): GraphqlModule {
  const resolvers: Record<string, Record<string, unknown>> = {};
  const loaders: Record<string, Record<string, unknown>> = {};
  for (const module of modules) {
    for (const [type, fields] of Object.entries(module.resolvers)) {
      resolvers[type] = { ...resolvers[type], ...(fields as Record<string, unknown>) };
    }
    for (const [type, fields] of Object.entries(module.loaders)) {
      loaders[type] = { ...loaders[type], ...(fields as Record<string, unknown>) };
    }
  }
  return { resolvers: resolvers as IResolvers, loaders: loaders as MercuriusLoaders };
}
