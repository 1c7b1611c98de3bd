import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shared corpus of real test data written by others lives beside the repository, in
 * `../shared/corpus` (CI lays it out the same way). `MAILWARDEN_CORPUS_DIR` points elsewhere.
 */
export const CORPUS_DIR =
  process.env.MAILWARDEN_CORPUS_DIR ?? fileURLToPath(new URL('../../../../shared/corpus', import.meta.url));

export function corpusPath(...parts: string[]): string {
  return join(CORPUS_DIR, ...parts);
}
