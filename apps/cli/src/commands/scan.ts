/**
 * `mailwarden scan <domain>` and `mailwarden scan --file <domains.txt>`: the checks of libs/checks
 * over the DNS client and guarded fetcher of libs/net, no database, no Redis. Exit codes: 0 done,
 * 1 `--fail-on` tripped, 2 bad command line or input (nothing was scanned).
 */
import { once } from 'node:events';
import { DEFAULT_SCAN_DEADLINE_MS, scanDomain } from '@mailwarden/checks';
import type { Command } from '../command.ts';
import { readCliEnvironment } from '../config.ts';
import { parseScanArgs, type ScanSettings, scanUsage } from '../scan/args.ts';
import { type BulkScanSettings, defaultThreads, runBulkScan } from '../scan/bulk-run.ts';
import { csvHeader, describeTally, failOnTriggered, reportJson } from '../scan/outcome.ts';
import { progressBar } from '../scan/progress.ts';
import { createScanRuntime, type ScanRuntimeSettings } from '../scan/runtime.ts';
import { readCaFiles, readDomainFile, resolveDnsServers } from '../scan/setup.ts';
import { renderTextReport } from '../scan/text-report.ts';

const EXIT_OK = 0;
const EXIT_FAIL_ON = 1;
const EXIT_USAGE = 2;

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

/** What every scan of the run shares besides its I/O: plain data, so scan threads can take it. */
function scanSettingsFor(settings: ScanSettings): BulkScanSettings {
  return {
    checks: settings.checks,
    dkimSelectors: settings.dkimSelectors,
    ...(settings.probeCommonSelectors !== undefined
      ? { probeCommonDkimSelectors: settings.probeCommonSelectors }
      : {}),
    deadlineMs: deadlineFor(settings),
    ...(settings.blocklists ? { blocklists: settings.blocklists } : {}),
  };
}

async function scanOne(domain: string, settings: ScanSettings, io: ScanRuntimeSettings): Promise<number> {
  const runtime = createScanRuntime(io);
  try {
    const report = await scanDomain(domain, { ...runtime.scanOptions, ...scanSettingsFor(settings) });
    if (settings.json) process.stdout.write(`${reportJson(report, 2)}\n`);
    else {
      const color = process.stdout.isTTY === true && !readCliEnvironment().noColor;
      process.stdout.write(renderTextReport(report, { color }));
    }
    return settings.failOn !== null && failOnTriggered(report, settings.failOn) ? EXIT_FAIL_ON : EXIT_OK;
  } finally {
    runtime.close();
  }
}

async function scanFile(domains: string[], settings: ScanSettings, io: ScanRuntimeSettings): Promise<number> {
  const progress = progressBar(process.stderr, domains.length);
  if (settings.format === 'csv') process.stdout.write(csvHeader());
  const { tally } = await runBulkScan(
    domains,
    {
      runtime: io,
      scan: scanSettingsFor(settings),
      format: settings.format,
      failOn: settings.failOn,
      concurrency: settings.concurrency,
    },
    settings.threads ?? defaultThreads(domains.length),
    {
      // A slow reader of stdout holds back new domains rather than letting output pile up here.
      onText: (text) =>
        process.stdout.write(text) ? undefined : once(process.stdout, 'drain').then(() => {}),
      onProgress: (done) => progress.tick(done),
    },
  );
  progress.finish();
  if (process.stderr.isTTY) process.stderr.write(`${describeTally(tally)}\n`);
  return tally.failedOn > 0 ? EXIT_FAIL_ON : EXIT_OK;
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

    const io: ScanRuntimeSettings = {
      dnsServers: servers.value,
      dnsTransport: settings.dnsTransport,
      dnsTimeoutMs: settings.dnsTimeoutMs,
      fetchTimeoutMs: settings.fetchTimeoutMs,
      allow: settings.allow,
      ca: ca.value,
    };
    if (domains?.ok) return await scanFile(domains.value, settings, io);
    return await scanOne(settings.domain as string, settings, io);
  },
};
