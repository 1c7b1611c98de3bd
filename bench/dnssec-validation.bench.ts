/**
 * The cost of DNSSEC validation in a scan: the same 10 000 signed domains are scanned (MX of the
 * domain, A of its MX host) without validation (plain queries) and with it (DO+CD queries, chain
 * from the test root, every RRset verified), in the same run, against the same loopback server.
 * The validator's caches (validated zone keys and cuts, verified signatures) are warm, as they are
 * for a monitor that rescans the same domains; the DNS client's cache is off for both, so every
 * scan asks the network. A cold validated pass is printed as a figure for comparison.
 *
 * The signed tree (a test root, `test.` and 10 000 zones with their own keys) is generated once
 * per run by the server process: this file re-run with --serve.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createDnssecValidator, type DnssecValidator, parseTrustAnchors } from '@mailwarden/checks';
import { createDnsClient, type DnsClient } from '@mailwarden/net';
import { startDnsServer, type Zones } from '@mailwarden/testing/dns-server';
import { dsFor, generateTestKey, signZone, trustAnchorLines } from '@mailwarden/testing/dnssec';
import { median, printFigure, printRatio } from './lib/report.ts';

const DOMAINS = Number(process.env.BENCH_DNSSEC_DOMAINS ?? 10_000);
const CONCURRENCY = 64;
const ROUNDS = 7;
const HOST = '127.0.0.54';

function domain(i: number): string {
  return `domain-${String(i).padStart(5, '0')}.test`;
}

function signedTree(): { zones: Zones; anchorText: string } {
  const zones: Zones = {};
  const childDs: Record<string, ReturnType<typeof dsFor>[]> = {};
  for (let i = 0; i < DOMAINS; i++) {
    const name = domain(i);
    const key = generateTestKey(13);
    zones[name] = signZone(
      name,
      {
        records: {
          '@': { MX: [{ preference: 10, exchange: `mx.${name}` }] },
          mx: { A: [`192.0.${(i >> 8) & 0xff}.${i & 0xff}`] },
        },
      },
      { keys: [key] },
    );
    childDs[name] = [dsFor(name, key)];
  }
  const tldKey = generateTestKey(13);
  zones.test = signZone('test', { records: {} }, { keys: [tldKey], childDs, denial: { nsec3: {} } });
  const rootKey = generateTestKey(8);
  zones[''] = signZone('', { records: {} }, { keys: [rootKey], childDs: { test: [dsFor('test', tldKey)] } });
  return { zones, anchorText: trustAnchorLines('.', [rootKey]) };
}

/**
 * Signing 10 000 zones takes a while on a busy machine, so the tree is kept in the temp directory
 * and reused for a week (its signatures last thirty days).
 */
const CACHE_FILE = join(tmpdir(), `mailwarden-bench-dnssec-${DOMAINS}-v1.json`);
const CACHE_MAX_AGE_MS = 7 * 86_400_000;

function loadOrBuildTree(): { zones: Zones; anchorText: string; cached: boolean } {
  try {
    if (Date.now() - statSync(CACHE_FILE).mtimeMs < CACHE_MAX_AGE_MS) {
      const saved = JSON.parse(readFileSync(CACHE_FILE, 'utf8'), (_key, value) =>
        typeof value === 'object' && value !== null && typeof value.b64 === 'string'
          ? { rdata: Buffer.from(value.b64, 'base64') }
          : value,
      );
      return { ...saved, cached: true };
    }
  } catch {
    // no usable cache: build below
  }
  const tree = signedTree();
  const json = JSON.stringify(tree, (_key, value) =>
    typeof value === 'object' && value !== null && value.rdata instanceof Uint8Array
      ? { b64: Buffer.from(value.rdata).toString('base64') }
      : value,
  );
  writeFileSync(CACHE_FILE, json);
  return { ...tree, cached: false };
}

async function serve(): Promise<void> {
  const { zones, anchorText, cached } = loadOrBuildTree();
  process.stderr.write(`# signed tree ${cached ? `reused from ${CACHE_FILE}` : 'generated'}\n`);
  const server = await startDnsServer({ host: HOST, zones, logQueries: false });
  process.stdout.write(`${JSON.stringify({ host: server.host, port: server.port, anchorText })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
}

/**
 * Scans every domain with CONCURRENCY outstanding; returns wall milliseconds, the CPU milliseconds
 * this (client) process spent, and the scans that failed. CPU time is the cost compared: the
 * server runs in its own process, and on a shared machine wall time mostly measures the neighbours.
 */
async function drive(
  scan: (name: string) => Promise<boolean>,
): Promise<{ ms: number; cpuMs: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < DOMAINS) {
        if (!(await scan(domain(next++)))) failed++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, failed };
}

function plain(client: DnsClient) {
  return drive(async (name) => {
    const [mx, a] = await Promise.all([client.query(name, 'MX'), client.query(`mx.${name}`, 'A')]);
    return mx.status === 'answer' && a.status === 'answer';
  });
}

function validated(validator: DnssecValidator) {
  return drive(async (name) => {
    const [mx, a] = await Promise.all([validator.query(name, 'MX'), validator.query(`mx.${name}`, 'A')]);
    return mx.verdict.verdict === 'secure' && a.verdict.verdict === 'secure';
  });
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const generated = performance.now();
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`DNS server exited with ${code}`)));
  });
  const { host, port, anchorText } = JSON.parse(firstLine) as {
    host: string;
    port: number;
    anchorText: string;
  };
  printFigure('dnssec-validation', 'tree_generation_ms', Math.round(performance.now() - generated), 'ms');
  const client = createDnsClient({ servers: [{ host, port }], cache: false });
  try {
    const validator = createDnssecValidator(client, { trustAnchors: parseTrustAnchors(anchorText).anchors });
    await plain(client); // warm-up: JIT, sockets
    const cold = await validated(validator);
    const coldStats = validator.stats();
    printFigure('dnssec-validation', 'cold_validated_scan_ms', Math.round(cold.ms), 'ms');
    printFigure('dnssec-validation', 'cold_validated_scan_cpu_ms', Math.round(cold.cpuMs), 'ms');
    printFigure(
      'dnssec-validation',
      'cold_signature_verifications',
      coldStats.verifications,
      'verifications',
    );
    const plainMs: number[] = [];
    const validatedMs: number[] = [];
    const plainCpu: number[] = [];
    const validatedCpu: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternating order: a load change on the shared machine hits both sides alike.
      const p = round % 2 === 0 ? await plain(client) : null;
      const v = await validated(validator);
      const p2 = p ?? (await plain(client));
      if (p2.failed + v.failed + cold.failed > 0)
        console.log(
          `# round ${round}: failures plain=${p2.failed} validated=${v.failed} cold=${cold.failed}`,
        );
      plainMs.push(p2.ms);
      validatedMs.push(v.ms);
      plainCpu.push(p2.cpuMs);
      validatedCpu.push(v.cpuMs);
      const f = (r: { ms: number; cpuMs: number }) => `${r.ms.toFixed(0)} ms (cpu ${r.cpuMs.toFixed(0)} ms)`;
      console.log(`# round ${round}: plain ${f(p2)}, validated ${f(v)}`);
    }
    const stats = validator.stats();
    printFigure(
      'dnssec-validation',
      'warm_signature_verifications',
      stats.verifications - coldStats.verifications,
      'verifications',
    );
    printRatio({
      bench: 'dnssec-validation',
      metric: `cold_validated_vs_plain_scan_cpu_${DOMAINS}_domains`,
      candidate: Math.round(cold.cpuMs),
      baseline: Math.round(median(plainCpu)),
      unit: 'cpu ms',
      better: 'lower',
    });
    printRatio({
      bench: 'dnssec-validation',
      metric: `warm_validated_vs_plain_scan_wall_${DOMAINS}_domains`,
      candidate: Math.round(median(validatedMs)),
      baseline: Math.round(median(plainMs)),
      unit: 'ms',
      better: 'lower',
    });
    printRatio({
      bench: 'dnssec-validation',
      metric: `warm_validated_vs_plain_scan_cpu_${DOMAINS}_domains`,
      candidate: Math.round(median(validatedCpu)),
      baseline: Math.round(median(plainCpu)),
      unit: 'cpu ms',
      better: 'lower',
      target: 1.5,
    });
  } finally {
    client.close();
    child.stdin.end();
  }
}

if (process.argv[2] === '--serve') await serve();
else await main();
