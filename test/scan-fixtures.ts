/**
 * TEST HELPER for the scan end-to-end tests: serves flat fixture zones (`name -> records`, the
 * shape of libs/checks' scan fixtures) from the loopback authoritative DNS server, each name in
 * the most specific zone that holds it, and runs the CLI the way an operator does.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FixtureNode, Zones } from '@mailwarden/testing/dns-server';
import type { FlatZone } from '../libs/checks/src/scan/scan-fixtures.test-helper.ts';

export const CLI = fileURLToPath(new URL('../apps/cli/src/main.ts', import.meta.url));

export function flatToZones(flat: FlatZone, apexes: readonly string[]): Zones {
  const zones: Zones = Object.fromEntries(apexes.map((apex) => [apex, { records: {} }]));
  const byLength = [...apexes].sort((a, b) => b.length - a.length);
  for (const [name, node] of Object.entries(flat)) {
    const apex = byLength.find((a) => name === a || name.endsWith(`.${a}`));
    if (apex === undefined) throw new Error(`no fixture zone holds ${name}`);
    const records = zones[apex]?.records as Record<string, FixtureNode>;
    records[name === apex ? '@' : name] = node as FixtureNode;
  }
  return zones;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mailwarden <args>` with the Node running the tests and an environment of our choosing. */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
