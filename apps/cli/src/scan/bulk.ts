/**
 * Bulk scanning: many domains with a bounded number in flight, each report handed on as soon as it
 * is done (output is in completion order; every line names its domain). The bound keeps sockets,
 * memory and the resolver's load flat however long the list is, and lets a slow domain (a name
 * that times out) hold one slot while the others keep the pipe full.
 */
import { type ScanOptions, type ScanReport, scanDomain } from '@mailwarden/checks';

export type BulkOutcome = { domain: string; report: ScanReport } | { domain: string; error: string };

export interface BulkOptions {
  concurrency: number;
  /** Everything but the domain; shared by every scan (one DNS client, one set of fetchers). */
  scan: ScanOptions;
  onOutcome(outcome: BulkOutcome): void;
  onProgress?(done: number, total: number): void;
  /** Awaited before each next domain is taken, when it returns a promise (back-pressure). */
  beforeNext?(): Promise<void> | undefined;
}

/** One domain's report, or why there is none. */
export async function scanDomainOutcome(domain: string, options: ScanOptions): Promise<BulkOutcome> {
  try {
    return { domain, report: await scanDomain(domain, options) };
  } catch (err) {
    // scanDomain only throws for a name that is not a domain, which the caller filtered out:
    // this is a bug, reported on the domain's own line rather than ending the run.
    return { domain, error: (err as Error).message };
  }
}

export async function scanMany(domains: readonly string[], options: BulkOptions): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < domains.length) {
      const wait = options.beforeNext?.();
      if (wait) {
        await wait;
        continue; // another worker may have taken the rest meanwhile
      }
      const domain = domains[next++] as string;
      const outcome = await scanDomainOutcome(domain, options.scan);
      done++;
      options.onOutcome(outcome);
      options.onProgress?.(done, domains.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, domains.length) }, worker));
}

export interface DomainList {
  domains: string[];
  /** Lines that are not domain names, with their 1-based line numbers. */
  invalid: { line: number; text: string }[];
}

/** One domain per line; `#` starts a comment; blank lines and duplicates are skipped. */
export function parseDomainList(text: string, normalize: (raw: string) => string | null): DomainList {
  const domains: string[] = [];
  const seen = new Set<string>();
  const invalid: DomainList['invalid'] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const entry = raw.replace(/#.*$/, '').trim();
    if (entry === '') return;
    const domain = normalize(entry);
    if (domain === null) invalid.push({ line: index + 1, text: entry.slice(0, 120) });
    else if (!seen.has(domain)) {
      seen.add(domain);
      domains.push(domain);
    }
  });
  return { domains, invalid };
}
