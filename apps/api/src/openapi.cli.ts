/**
 * `npm run openapi:generate` writes openapi/openapi.json from the routes;
 * `npm run openapi:check` fails when the committed file differs from what the routes say.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { renderOpenApi } from './openapi.ts';

const target = new URL('../../../openapi/openapi.json', import.meta.url);
const mode = process.argv[2];
const rendered = await renderOpenApi();

if (mode === 'write') {
  await writeFile(target, rendered);
  console.log(`wrote ${target.pathname}`);
} else if (mode === 'check') {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== rendered) {
    console.error(
      'openapi/openapi.json is out of date with the routes: run `npm run openapi:generate` and commit it',
    );
    process.exit(1);
  }
  console.log('openapi/openapi.json matches the routes');
} else {
  console.error('usage: openapi.cli.ts write|check');
  process.exit(2);
}
