/**
 * Bulk runs over scan threads (bulk-run.ts, scan.thread.ts) against the loopback authoritative
 * DNS server: real threads, real UDP. The checks that fetch over HTTPS are left out (the CLI's
 * end-to-end test covers them with threads too); what is under test here is the hand-out of
 * domains, the batching back, the tally and the back-pressure.
 */
import { startDnsServer, type TestDnsServer } from '@mailwarden/testing/dns-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DKIM_SELECTOR,
  type FlatZone,
  goodDomainZone,
} from '../../../../libs/checks/src/scan/scan-fixtures.test-helper.ts';
import { flatToZones } from '../../../../test/scan-fixtures.ts';
import { type BulkJob, defaultThreads, MIN_DOMAINS_PER_THREAD, runBulkScan } from './bulk-run.ts';
import type { BulkTally } from './outcome.ts';

const DNS_HOST = '127.77.1.53';
const GOOD = 60;
const WEAK = 30;
const domains = [
  ...Array.from({ length: GOOD }, (_, i) => `good${i}.test`),
  ...Array.from({ length: WEAK }, (_, i) => `weak${i}.test`),
];

let dns: TestDnsServer;

beforeAll(async () => {
  const flat: FlatZone = {};
  for (let i = 0; i < GOOD; i++)
    Object.assign(
      flat,
      goodDomainZone(`good${i}.test`, {
        mxAddress: '192.0.2.10',
        policyAddress: '192.0.2.20',
        logoUrl: 'https://brand.test/logo.svg',
      }),
    );
  for (let i = 0; i < WEAK; i++) flat[`weak${i}.test`] = { TXT: ['v=spf1 +all'] };
  dns = await startDnsServer({
    host: DNS_HOST,
    zones: flatToZones(flat, ['test', 'example', '2.0.192.in-addr.arpa']),
  });
});

afterAll(async () => {
  await dns?.close();
});

function job(overrides: Partial<BulkJob> = {}): BulkJob {
  return {
    runtime: {
      dnsServers: [{ host: DNS_HOST, port: dns.port }],
      dnsTransport: 'udp',
      dnsTimeoutMs: 1_000,
      fetchTimeoutMs: 1_000,
      allow: [],
      ca: [],
    },
    scan: { checks: ['mx', 'spf', 'dkim', 'dmarc', 'tls_rpt'], dkimSelectors: [DKIM_SELECTOR] },
    format: 'jsonl',
    failOn: 'critical',
    concurrency: 8,
    ...overrides,
  };
}

interface Line {
  domain: string;
  grade: string | null;
  codes: string[];
}

async function run(threads: number, overrides: Partial<BulkJob> = {}) {
  let text = '';
  const progress: number[] = [];
  const result = await runBulkScan(domains, job(overrides), threads, {
    onText: (t) => {
      text += t;
      return undefined;
    },
    onProgress: (done) => progress.push(done),
  });
  const lines = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { domain: string; posture: { grade: string | null }; results: unknown[] })
    .map(
      (r): Line => ({
        domain: r.domain,
        grade: r.posture.grade,
        codes: (r.results as { findings: { code: string }[] }[])
          .flatMap((c) => c.findings.map((f) => f.code))
          .sort(),
      }),
    )
    .sort((a, b) => a.domain.localeCompare(b.domain));
  return { result, lines, progress };
}

describe('bulk runs over scan threads', () => {
  it('should scan every domain once and report what one thread reports', async () => {
    const [one, three] = [await run(1), await run(3)];
    expect(three.result.threads).toBe(3);
    expect(one.result.threads).toBe(1);
    expect(three.lines.map((l) => l.domain)).toEqual([...domains].sort());
    expect(three.lines).toEqual(one.lines);
    const expected: BulkTally = {
      scanned: GOOD + WEAK,
      errors: 0,
      failedOn: WEAK,
      grades: one.result.tally.grades,
      withUnknownChecks: 0,
      dnsQuestions: one.result.tally.dnsQuestions,
    };
    expect(three.result.tally).toEqual(expected);
    expect(Object.values(three.result.tally.grades).reduce((a, b) => a + b, 0)).toBe(GOOD + WEAK);
    // Each thread has its own cache, so the names every domain shares are asked once per thread.
    expect(three.result.dns.queriesSent).toBeGreaterThanOrEqual(one.result.dns.queriesSent);
    expect(three.result.dns.queriesSent).toBeLessThan(one.result.dns.queriesSent * 1.1);
    expect(three.result.dns.timeouts).toBe(0);
    expect(three.progress.at(-1)).toBe(GOOD + WEAK);
    expect(three.progress).toEqual([...three.progress].sort((a, b) => a - b));
  });

  it('should write CSV rows from threads', async () => {
    let text = '';
    await runBulkScan(domains, job({ format: 'csv' }), 2, {
      onText: (t) => {
        text += t;
        return undefined;
      },
    });
    const rows = text.trimEnd().split('\r\n');
    expect(rows).toHaveLength(GOOD + WEAK);
    expect(rows.filter((r) => r.startsWith('weak')).every((r) => r.split(',')[1] === 'F')).toBe(true);
  });

  it.each([1, 2])(
    'should hand out no more domains while the output is held back (%i threads)',
    async (threads) => {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let done = 0;
      let blocked = true;
      const running = runBulkScan(domains, job({ concurrency: 2 }), threads, {
        onText: () => (blocked ? held : undefined),
        onProgress: (n) => (done = n),
      });
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      for (let waited = 0; done === 0 && waited < 20_000; waited += 20) await sleep(20);
      expect(done).toBeGreaterThan(0);
      // What was in flight or queued when the output stopped finishes; then nothing moves.
      await sleep(300);
      const settled = done;
      await sleep(300);
      expect(done).toBe(settled);
      expect(settled).toBeLessThan(GOOD + WEAK);
      blocked = false;
      release();
      const result = await running;
      expect(result.tally.scanned).toBe(GOOD + WEAK);
    },
  );

  it('should use one thread per core for a long list, and none extra for a short one', () => {
    expect(defaultThreads(10, 8)).toBe(1);
    expect(defaultThreads(MIN_DOMAINS_PER_THREAD * 2, 8)).toBe(2);
    expect(defaultThreads(100_000, 2)).toBe(2);
    expect(defaultThreads(100_000, 500)).toBe(64);
  });
});
