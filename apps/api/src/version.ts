import { readFileSync } from 'node:fs';

/** The API version is the package version; read once at start. */
export const version: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
