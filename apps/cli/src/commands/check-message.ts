/**
 * `mailwarden check-message <file.eml>`: libs/checks' message check over libs/net's DNS client.
 * Exit codes: 0 verdict pass, neutral or unknown; 1 suspicious or fail; 2 bad command line or
 * unreadable / oversized file.
 */
import { readFileSync } from 'node:fs';
import {
  checkMessage,
  findingDefinition,
  type MessageCheckReport,
  MessageTooLargeError,
} from '@mailwarden/checks';
import type { Resolver } from '@mailwarden/core';
import { createDnsClient } from '@mailwarden/net';
import {
  type CheckMessageSettings,
  checkMessageUsage,
  parseCheckMessageArgs,
} from '../check-message/args.ts';
import type { Command } from '../command.ts';
import { readCliEnvironment } from '../config.ts';
import { resolveDnsServers } from '../scan/setup.ts';

const EXIT_OK = 0;
const EXIT_FLAGGED = 1;
const EXIT_USAGE = 2;

function usageErrors(errors: readonly string[]): number {
  for (const e of errors) process.stderr.write(`mailwarden check-message: ${e}\n`);
  process.stderr.write('Run "mailwarden check-message --help" for the options.\n');
  return EXIT_USAGE;
}

/** The human report: the verdict first, then the authentication results, links and findings. */
export function renderMessageReport(report: MessageCheckReport): string {
  const { authentication: auth, content } = report;
  const lines = [
    `verdict: ${report.verdict.toUpperCase()}${report.reasons.length > 0 ? ` (${report.reasons.join(', ')})` : ''}`,
    `from: ${report.headerFrom.join(', ') || '-'}   subject: ${report.subject ?? '-'}   ${report.sizeBytes} bytes`,
    '',
    `SPF    ${auth.spf.result}${auth.spf.comment ? `  ${auth.spf.comment}` : ''}`,
    ...(auth.dkim.length === 0
      ? ['DKIM   none']
      : auth.dkim.map(
          (d) =>
            `DKIM   ${d.result}  d=${d.domain || '-'} s=${d.selector ?? '-'}${d.aligned ? ' (aligned)' : ''}${d.comment ? `  ${d.comment}` : ''}`,
        )),
    `ARC    ${auth.arc.result}${auth.arc.instance > 0 ? `  i=${auth.arc.instance}` : ''}`,
    `DMARC  ${auth.dmarc ? `${auth.dmarc.result}  ${auth.dmarc.domain} p=${auth.dmarc.policy ?? '-'}` : 'none (no From domain to check)'}`,
    '',
    `${content.urls.length} links, ${content.domains.length} domains, ${content.attachments.length} attachments, ${report.dnsQueries} DNS questions`,
  ];
  for (const finding of report.findings) {
    lines.push(
      '',
      `${finding.severity.toUpperCase().padEnd(8)} ${finding.message}`,
      `         ${finding.code} · ${finding.subject}`,
    );
    const fix = findingDefinition(finding.code)?.remediation;
    if (fix) lines.push(`         fix: ${fix}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Reads the file and runs the check; a usage error (exit 2) is returned as a string. */
export async function runCheckMessage(
  settings: CheckMessageSettings,
  resolver: Resolver,
): Promise<{ report: MessageCheckReport } | { error: string }> {
  let raw: Buffer;
  try {
    raw = readFileSync(settings.file === '-' ? 0 : settings.file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { error: `${JSON.stringify(settings.file)} cannot be read (${code})` };
  }
  try {
    const report = await checkMessage(raw, {
      resolver,
      domainLists: settings.domainLists,
      ipLists: settings.ipLists,
      maxBytes: settings.maxBytes,
      ...(settings.clientIp !== undefined ? { clientIp: settings.clientIp } : {}),
      ...(settings.helo !== undefined ? { helo: settings.helo } : {}),
      ...(settings.mailFrom !== undefined ? { mailFrom: settings.mailFrom } : {}),
    });
    return { report };
  } catch (err) {
    if (err instanceof MessageTooLargeError)
      return { error: `${JSON.stringify(settings.file)}: ${err.message} (--max-bytes)` };
    throw err;
  }
}

export const checkMessageCommand: Command = {
  summary: 'Check one message (.eml): SPF, DKIM, ARC, DMARC and blocklisted links',
  async run(args) {
    const parsed = parseCheckMessageArgs(args, readCliEnvironment());
    if (parsed.kind === 'help') {
      process.stdout.write(checkMessageUsage);
      return EXIT_OK;
    }
    if (parsed.kind === 'error') return usageErrors(parsed.errors);
    const { settings } = parsed;
    const servers = resolveDnsServers(settings.dnsServers);
    if (!servers.ok) return usageErrors(servers.errors);
    const dns = createDnsClient({
      servers: servers.value,
      timeoutMs: settings.dnsTimeoutMs,
      transport: settings.dnsTransport,
    });
    try {
      const outcome = await runCheckMessage(settings, dns);
      if ('error' in outcome) return usageErrors([outcome.error]);
      const { report } = outcome;
      process.stdout.write(
        settings.json ? `${JSON.stringify(report, null, 2)}\n` : renderMessageReport(report),
      );
      return report.verdict === 'fail' || report.verdict === 'suspicious' ? EXIT_FLAGGED : EXIT_OK;
    } finally {
      dns.close();
    }
  },
};
