/**
 * `mailwarden scan <domain>` and `mailwarden scan --file <domains.txt>`: the checks of libs/checks
 * over the DNS client and guarded fetcher of libs/net, no database, no Redis. Exit codes: 0 done,
 * 1 `--fail-on` tripped, 2 bad command line or input (nothing was scanned).
 */
import { DEFAULT_SCAN_DEADLINE_MS, type ScanOptions, type ScanReport, scanDomain } from '@mailwarden/checks';
import type { Command } from '../command.ts';
import { readCliEnvironment } from '../config.ts';
import { parseScanArgs, type ScanSettings, scanUsage } from '../scan/args.ts';
import { scanMany } from '../scan/bulk.ts';
import { csvErrorRow, csvHeader, csvRow, failOnTriggered } from '../scan/outcome.ts';
import { progressBar } from '../scan/progress.ts';
import { createScanRuntime, type ScanRuntime } from '../scan/runtime.ts';
import { readCaFiles, readDomainFile, resolveDnsServers } from '../scan/setup.ts';
import { renderTextReport } from '../scan/text-report.ts';

const EXIT_OK = 0;
const EXIT_FAIL_ON = 1;
const EXIT_USAGE = 2;

/** Bytes are not JSON; the few facts that hold them are shown as base64. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value))
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return typeof value === 'bigint' ? value.toString() : value;
}

export function reportJson(report: ScanReport, indent?: number): string {
  return JSON.stringify(report, jsonReplacer, indent);
}

function usageErrors(errors: readonly string[]): number {
  for (const e of errors) process.stderr.write(`mailwarden scan: ${e}\n`);
  process.stderr.write('Run "mailwarden scan --help" for the options.\n');
  return EXIT_USAGE;
}

/**
 * A scan's wall-clock budget: never under a minute, and long enough for SPF's sequential walk to
 * meet a dozen timeouts, so only a hung fetch or resolver is ever cut off.
 */
function deadlineFor(settings: ScanSettings): number {
  return Math.max(
    DEFAULT_SCAN_DEADLINE_MS / 2,
    12 * Math.max(settings.dnsTimeoutMs, settings.fetchTimeoutMs),
  );
}

function scanOptionsFor(settings: ScanSettings, runtime: ScanRuntime): ScanOptions {
  return {
    ...runtime.scanOptions,
    checks: settings.checks,
    dkimSelectors: settings.dkimSelectors,
    ...(settings.probeCommonSelectors !== undefined
      ? { probeCommonDkimSelectors: settings.probeCommonSelectors }
      : {}),
    deadlineMs: deadlineFor(settings),
    ...(settings.blocklists ? { blocklists: settings.blocklists } : {}),
  };
}

async function scanOne(domain: string, settings: ScanSettings, runtime: ScanRuntime): Promise<number> {
  const report = await scanDomain(domain, scanOptionsFor(settings, runtime));
  if (settings.json) process.stdout.write(`${reportJson(report, 2)}\n`);
  else {
    const color = process.stdout.isTTY === true && !readCliEnvironment().noColor;
    process.stdout.write(renderTextReport(report, { color }));
  }
  return settings.failOn !== null && failOnTriggered(report, settings.failOn) ? EXIT_FAIL_ON : EXIT_OK;
}

async function scanFile(domains: string[], settings: ScanSettings, runtime: ScanRuntime): Promise<number> {
  const csv = settings.format === 'csv';
  const progress = progressBar(process.stderr, domains.length);
  let tripped = false;
  if (csv) process.stdout.write(csvHeader());
  await scanMany(domains, {
    concurrency: settings.concurrency,
    scan: scanOptionsFor(settings, runtime),
    onOutcome(outcome) {
      if ('error' in outcome) {
        process.stdout.write(
          csv
            ? csvErrorRow(outcome.domain, outcome.error)
            : `${JSON.stringify({ domain: outcome.domain, error: outcome.error })}\n`,
        );
        return;
      }
      if (settings.failOn !== null && failOnTriggered(outcome.report, settings.failOn)) tripped = true;
      process.stdout.write(csv ? csvRow(outcome.report) : `${reportJson(outcome.report)}\n`);
    },
    onProgress: (done) => progress.tick(done),
  });
  progress.finish();
  return tripped ? EXIT_FAIL_ON : EXIT_OK;
}

export const scanCommand: Command = {
  summary: 'Check the mail security of a domain (or --file of domains)',
  async run(args) {
    const parsed = parseScanArgs(args, readCliEnvironment());
    if (parsed.kind === 'help') {
      process.stdout.write(scanUsage);
      return EXIT_OK;
    }
    if (parsed.kind === 'error') return usageErrors(parsed.errors);
    const { settings } = parsed;
    const ca = readCaFiles(settings.caFiles);
    const servers = resolveDnsServers(settings.dnsServers);
    const domains = settings.file !== null ? readDomainFile(settings.file) : null;
    const errors = [ca, servers, domains].flatMap((r) => (r && !r.ok ? r.errors : []));
    if (errors.length > 0 || !ca.ok || !servers.ok) return usageErrors(errors);

    const runtime = createScanRuntime({
      dnsServers: servers.value,
      dnsTransport: settings.dnsTransport,
      dnsTimeoutMs: settings.dnsTimeoutMs,
      fetchTimeoutMs: settings.fetchTimeoutMs,
      allow: settings.allow,
      ca: ca.value,
    });
    try {
      if (domains?.ok) return await scanFile(domains.value, settings, runtime);
      return await scanOne(settings.domain as string, settings, runtime);
    } finally {
      runtime.close();
    }
  },
};
