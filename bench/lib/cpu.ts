/**
 * CPU time spent by this process and by the local Postgres server over a phase of a benchmark:
 * steadier than a rate on a small shared machine (another tenant's load moves seconds, not the
 * work done), and it says which side a change helped. Postgres is read from /proc (Linux, the
 * server on this machine, processes named `postgres`); elsewhere its figure is absent.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux we run on (USER_HZ). */
const USER_HZ = 100;

/** utime + stime of a /proc/<pid>/stat line, in ticks. */
function statTicks(stat: string): number {
  // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis;
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after "pid (comm) ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function processCpuSeconds(command: string): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  let ticks = 0;
  let found = false;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== command) continue;
    ticks += statTicks(stat);
    found = true;
  }
  return found ? ticks / USER_HZ : undefined;
}

/** CPU seconds a child process has used so far (its /proc stat), or undefined when unreadable. */
export function pidCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return statTicks(readFileSync(`/proc/${pid}/stat`, 'latin1')) / USER_HZ;
  } catch {
    return undefined;
  }
}

export interface CpuMark {
  self: NodeJS.CpuUsage;
  postgres: number | undefined;
}

export function cpuMark(): CpuMark {
  return { self: process.cpuUsage(), postgres: processCpuSeconds('postgres') };
}

/**
 * Milliseconds of CPU per unit of work since `from`: this process (all its threads) and Postgres.
 * Backends that exited meanwhile take their time with them, so the Postgres figure is a floor when
 * connections came and went; the benchmarks keep theirs open.
 */
export function cpuPerUnit(from: CpuMark, units: number): { selfMs: number; postgresMs: number | undefined } {
  const self = process.cpuUsage(from.self);
  const postgres = processCpuSeconds('postgres');
  return {
    selfMs: (self.user + self.system) / 1000 / units,
    postgresMs:
      postgres === undefined || from.postgres === undefined
        ? undefined
        : ((postgres - from.postgres) * 1000) / units,
  };
}
