import { errorCatalogue } from '@mailwarden/core';
import type { GraphqlModule } from './modules.ts';

export function systemModule(version: string): GraphqlModule {
  return {
    resolvers: {
      Query: {
        meta: () => ({ service: 'mailwarden', version, apiVersion: 'v1' }),
        errorCodes: () => Object.entries(errorCatalogue).map(([code, entry]) => ({ code, ...entry })),
      },
    },
    loaders: {},
  };
}
