/**
 * Imports point one way (DESIGN.md §1): apps -> libs, and inside libs
 * monitoring/alerts/auth -> db, queue, checks, reports, net -> core. This script fails when a
 * workspace imports a package it may not, or one it does not declare in its package.json.
 * Test files may also import @mailwarden/testing; nothing in src may.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const lower = ['core', 'db', 'queue', 'net', 'checks', 'reports'];
const allowed: Record<string, string[]> = {
  core: [],
  db: ['core'],
  queue: ['core'],
  net: ['core'],
  checks: ['core'],
  reports: ['core'],
  auth: lower,
  alerts: lower,
  monitoring: [...lower, 'alerts', 'auth'],
  testing: ['*'],
};
const apps = ['api', 'worker', 'inbound', 'cli'];
for (const app of apps)
  allowed[app] = ['core', 'db', 'queue', 'net', 'checks', 'reports', 'auth', 'alerts', 'monitoring'];

function* tsFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (entry === 'node_modules' || entry === 'fixtures') continue;
    if (statSync(path).isDirectory()) yield* tsFiles(path);
    else if (entry.endsWith('.ts')) yield path;
  }
}

const importRe =
  /(?:import|export)\s[^'"]*?from\s+['"]@mailwarden\/([a-z-]+)|import\(\s*['"]@mailwarden\/([a-z-]+)/g;
const problems: string[] = [];

for (const [kind, names] of [
  ['libs', Object.keys(allowed).filter((n) => !apps.includes(n))],
  ['apps', apps],
] as const) {
  for (const name of names) {
    const dir = join(root, kind, name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const declared = new Set(
      [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]
        .filter((d) => d.startsWith('@mailwarden/'))
        .map((d) => d.slice('@mailwarden/'.length)),
    );
    for (const file of tsFiles(dir)) {
      const isTest = /\.test(-helper)?\.ts$|test-kit\.ts$/.test(file) || file.includes('/test/');
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(importRe)) {
        const target = match[1] ?? match[2]!;
        if (target === name) continue;
        const where = relative(root, file);
        if (target === 'testing') {
          if (!isTest) problems.push(`${where}: only tests may import @mailwarden/testing`);
          continue;
        }
        const rule = allowed[name]!;
        if (!rule.includes('*') && !rule.includes(target)) {
          problems.push(`${where}: ${kind}/${name} may not import @mailwarden/${target}`);
        } else if (!declared.has(target)) {
          problems.push(
            `${where}: imports @mailwarden/${target}, which ${kind}/${name}/package.json does not declare`,
          );
        }
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`import boundaries broken:\n  ${[...new Set(problems)].join('\n  ')}`);
  process.exit(1);
}
console.log('import boundaries hold');
