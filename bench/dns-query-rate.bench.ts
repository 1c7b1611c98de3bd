/**
 * Raw query rate: our DNS client (cache off, so every call is a network query) against node's
 * c-ares `dns.promises.Resolver`, same loopback server, same names, same concurrency, same run.
 * Our client runs in both its transports, each with its own ratio line: `udp` (the default) and
 * `tcp` (pipelined, RFC 7766 §6.2.1.1).
 *
 * The authoritative server is Knot DNS (Debian's `knot`) when it is installed: a real server in C,
 * one UDP and one TCP worker, fast enough that the clients, not the server, set the rate. Without
 * it, the test DNS server of libs/testing runs in a child process (this file, re-run with
 * --serve); being JavaScript, it saturates near 60 000 q/s on this machine and squeezes every
 * client towards the same figure (the ratio printed then understates the difference). Either way
 * the server has a process of its own and the parent's CPU time is spent only on the clients. Each
 * round uses a fresh client and a fresh c-ares Resolver (c-ares >= 1.23 caches answers per
 * channel), and every round asks each name once, so no cache of either side can help.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as dnsPromises } from 'node:dns';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createDnsClient } from '@mailwarden/net';
import { startDnsServer, type Zones } from '@mailwarden/testing/dns-server';
import { median, printFigure, printRatio } from './lib/report.ts';

const DOMAINS = 10_000;
const CONCURRENCY = 64;
const ROUNDS = 5;
const HOST = '127.0.0.53';

function domain(i: number): string {
  return `domain-${String(i).padStart(5, '0')}.bench.test`;
}

function zones(): Zones {
  const out: Zones = {};
  for (let i = 0; i < DOMAINS; i++) {
    out[domain(i)] = {
      records: {
        '@': {
          A: [`192.0.${(i >> 8) & 0xff}.${i & 0xff}`],
          MX: [{ preference: 10, exchange: `mx.${domain(i)}` }],
          TXT: [`v=spf1 ip4:192.0.${(i >> 8) & 0xff}.0/24 -all`],
        },
      },
    };
  }
  return out;
}

async function serve(): Promise<void> {
  const server = await startDnsServer({ host: HOST, zones: zones(), logQueries: false });
  process.stdout.write(`${JSON.stringify({ host: server.host, port: server.port })}\n`);
  // Run until the parent closes our stdin (or dies).
  process.stdin.resume();
  process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
}

type Kind = 'A' | 'MX' | 'TXT';
const work: { name: string; type: Kind }[] = [];
for (let i = 0; i < DOMAINS; i++)
  for (const type of ['A', 'MX', 'TXT'] as const) work.push({ name: domain(i), type });

/** Run `ask` over every item with CONCURRENCY outstanding; returns queries/second and failures. */
async function drive(
  ask: (name: string, type: Kind) => Promise<boolean>,
): Promise<{ qps: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < work.length) {
        const item = work[next++] as (typeof work)[number];
        if (!(await ask(item.name, item.type))) failed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { qps: work.length / seconds, failed };
}

async function ours(host: string, port: number, transport: 'udp' | 'tcp') {
  const client = createDnsClient({ servers: [{ host, port }], cache: false, transport });
  try {
    return await drive(async (name, type) => (await client.query(name, type)).status === 'answer');
  } finally {
    client.close();
  }
}

async function cares(host: string, port: number) {
  const resolver = new dnsPromises.Resolver({ timeout: 1500, tries: 2 });
  resolver.setServers([`${host}:${port}`]);
  return drive(async (name, type) => {
    try {
      if (type === 'A') await resolver.resolve4(name);
      else if (type === 'MX') await resolver.resolveMx(name);
      else await resolver.resolveTxt(name);
      return true;
    } catch {
      return false;
    } finally {
      // nothing to release: the Resolver is dropped after the round
    }
  });
}

const KNOTD = '/usr/sbin/knotd';

/** Knot serving the same names as zones(): one zone file for bench.test, loopback only. */
async function startKnot(): Promise<{ host: string; port: number; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-bench-knot-'));
  mkdirSync(join(dir, 'db'));
  const lines = [
    '$ORIGIN bench.test.',
    '$TTL 300',
    '@ SOA ns h 1 3600 600 86400 300',
    '@ NS ns',
    `ns A ${HOST}`,
  ];
  for (const [name, zone] of Object.entries(zones())) {
    const label = name.slice(0, -'.bench.test'.length);
    const rr = zone.records?.['@'] as { A: string[]; MX: { exchange: string }[]; TXT: string[] };
    lines.push(
      `${label} A ${rr.A[0]}`,
      `${label} MX 10 ${rr.MX[0]?.exchange}.`,
      `${label} TXT "${rr.TXT[0]}"`,
    );
  }
  writeFileSync(join(dir, 'bench.test.zone'), `${lines.join('\n')}\n`);
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  writeFileSync(
    join(dir, 'knot.conf'),
    [
      'server:',
      `    rundir: "${dir}"`,
      `    listen: ${HOST}@${port}`,
      '    udp-workers: 1',
      '    tcp-workers: 1',
      '    background-workers: 1',
      'database:',
      `    storage: "${dir}/db"`,
      'zone:',
      '  - domain: bench.test',
      `    file: "${dir}/bench.test.zone"`,
      `    storage: "${dir}"`,
      'log:',
      '  - target: stderr',
      '    any: error',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(KNOTD, ['-c', join(dir, 'knot.conf')], { stdio: 'inherit' });
  const stop = () => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when it answers.
  const probe = createDnsClient({ servers: [{ host: HOST, port }], cache: false, timeoutMs: 200 });
  try {
    for (let i = 0; i < 100; i++) {
      if ((await probe.query(domain(0), 'A')).status === 'answer') return { host: HOST, port, stop };
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    probe.close();
  }
  stop();
  throw new Error('knotd did not answer');
}

async function startFixture(): Promise<{ host: string; port: number; stop(): void }> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`DNS server exited with ${code}`)));
  });
  const { host, port } = JSON.parse(firstLine) as { host: string; port: number };
  return { host, port, stop: () => child.stdin?.end() };
}

async function main(): Promise<void> {
  const knot = existsSync(KNOTD);
  console.log(
    knot
      ? '# server: Knot DNS (knotd), one UDP and one TCP worker'
      : '# server: libs/testing DNS server (install Debian `knot` for a server that is not the bottleneck)',
  );
  const server = knot ? await startKnot() : await startFixture();
  const { host, port } = server;
  try {
    // Warm-up: JIT every path and the server before measuring.
    await ours(host, port, 'udp');
    await ours(host, port, 'tcp');
    await cares(host, port);
    const udpQps: number[] = [];
    const tcpQps: number[] = [];
    const caresQps: number[] = [];
    // Interleaved rounds, medians: load from other processes hits all three alike.
    for (let round = 0; round < ROUNDS; round++) {
      const u = await ours(host, port, 'udp');
      const c = await cares(host, port);
      const t = await ours(host, port, 'tcp');
      if (u.failed + t.failed + c.failed > 0) {
        console.log(`# round ${round}: failures udp=${u.failed} tcp=${t.failed} c-ares=${c.failed}`);
      }
      udpQps.push(u.qps);
      tcpQps.push(t.qps);
      caresQps.push(c.qps);
      const f = (qps: number) => `${qps.toFixed(0)} q/s`;
      console.log(`# round ${round}: ours/udp ${f(u.qps)}, ours/tcp ${f(t.qps)}, c-ares ${f(c.qps)}`);
    }
    const baseline = Math.round(median(caresQps));
    printFigure('dns-query-rate', 'cares_qps', baseline, 'queries/s');
    for (const [transport, values] of [
      ['udp', udpQps],
      ['tcp_pipelined', tcpQps],
    ] as const) {
      printRatio({
        bench: 'dns-query-rate',
        metric: `${transport}_qps_at_concurrency_${CONCURRENCY}`,
        candidate: Math.round(median(values)),
        baseline,
        unit: 'queries/s',
        better: 'higher',
        target: 1.5,
      });
    }
  } finally {
    server.stop();
  }
}

if (process.argv[2] === '--serve') await serve();
else await main();
