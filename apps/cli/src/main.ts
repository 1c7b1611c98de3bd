import { parseArgs } from 'node:util';
import packageJson from '../package.json' with { type: 'json' };
import type { Command } from './command.ts';
import { checkMessageCommand } from './commands/check-message.ts';
import { reportCommand } from './commands/report.ts';
import { scanCommand } from './commands/scan.ts';

export type { Command } from './command.ts';

/**
 * `mailwarden`: the operator CLI. Global options come before the command; everything after the
 * command name belongs to the command, which parses it itself. Exit codes: 0 success, 1 the
 * command failed, 2 the command line was wrong (the usual convention for usage errors).
 */

const exitUsage = 2;

/** Every subcommand, by name; the help text lists them from this map. */
const commands: Record<string, Command> = {
  help: {
    summary: 'Show this help',
    async run() {
      process.stdout.write(usage());
      return 0;
    },
  },
  scan: scanCommand,
  report: reportCommand,
  'check-message': checkMessageCommand,
};

const globalOptions = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const list = Object.entries(commands)
    .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
    .join('\n');
  return `Usage: mailwarden [--help] [--version] <command> [arguments]

Checks and monitors the mail security of domains (SPF, DKIM, DMARC, MTA-STS, TLS, DNSSEC, blocklists).

Commands:
${list}

Options:
  -h, --help     Show this help
  -V, --version  Print the version
`;
}

function usageError(message: string): number {
  process.stderr.write(`mailwarden: ${message}\n\n${usage()}`);
  return exitUsage;
}

async function main(argv: readonly string[]): Promise<number> {
  // Options before the first bare word are global; the rest is the command's own business.
  const commandAt = argv.findIndex((arg) => !arg.startsWith('-'));
  const globalArgs = commandAt === -1 ? [...argv] : argv.slice(0, commandAt);
  let values: { help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: globalArgs,
      options: globalOptions,
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${packageJson.version}\n`);
    return 0;
  }
  if (commandAt === -1) return usageError('missing command');
  const name = argv[commandAt]!;
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) return usageError(`unknown command ${JSON.stringify(name)}`);
  return command.run(argv.slice(commandAt + 1));
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`mailwarden: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
