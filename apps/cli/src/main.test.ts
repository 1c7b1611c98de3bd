import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const mainPath = fileURLToPath(new URL('./main.ts', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Runs the CLI with the same Node binary and an empty environment. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainPath, ...args], { env: {} }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('mailwarden CLI', () => {
  it('should print usage with the command list on --help and -h', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout, stderr } = await cli(flag);
      expect(code, flag).toBe(0);
      expect(stdout).toMatch(/^Usage: mailwarden /);
      expect(stdout).toMatch(/Commands:\n {2}help +Show this help/);
      expect(stderr).toBe('');
    }
  });

  it('should print the package version on --version and -V', async () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-V']) {
      expect(await cli(flag)).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('should run a registered command', async () => {
    const { code, stdout } = await cli('help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: mailwarden /);
  });

  it('should reject an unknown command with usage on stderr and exit code 2', async () => {
    const { code, stdout, stderr } = await cli('frobnicate', '--json');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^mailwarden: unknown command "frobnicate"\n/);
    expect(stderr).toContain('Usage: mailwarden ');
  });

  it('should reject a missing command and an unknown global option with exit code 2', async () => {
    const missing = await cli();
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing command/);
    const unknown = await cli('--bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--bogus/);
    expect(unknown.stdout).toBe('');
  });
});
