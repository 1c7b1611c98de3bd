/**
 * STARTTLS probe rate: `probeMx` against a raw loop doing the least a STARTTLS handshake needs with
 * node:net + node:tls (banner, EHLO, STARTTLS, handshake, close), same server, same concurrency,
 * same run. Target >= 0.75x. The candidate is the probe's STARTTLS session — SSRF-guarded connect,
 * banner, EHLO, STARTTLS, TLS handshake with SNI and the whole chain recorded, QUIT and its 221 —
 * with the hygiene commands and the per-version and per-cipher handshakes off (those are further
 * probes of the same kind). The default session (plus EHLO over TLS, VRFY and EXPN: three more
 * round trips) is printed as a second ratio without a target. CPU time per probe is printed too:
 * on a loaded machine round trips dominate the rates, CPU time does not move with the load.
 * Rounds alternate the three and the median of the per-round ratios is reported, because this
 * machine is shared and its load moves between rounds.
 *
 * Then a soak: PROBES probes (default 2 000; SMTP_BENCH_PROBES=20000 for the issue's full count,
 * a few minutes more) and the growth of open handles, file descriptors and heap after a GC, which
 * must stay flat.
 *
 * The SMTP servers (the scripted ESMTP fixture with real STARTTLS, one per 127.0.9.x address so
 * each worker has its own host and the per-host limit of one connection does not serialise the run)
 * live in a child process (this file with --serve): the parent's CPU time goes to the prober alone.
 * Not smtp-server: it holds every greeting back 100 ms to catch early talkers, which would make
 * both sides of the ratio measure that pause instead of the prober.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createProbeLimiter, parseAllowList, probeMx } from '@mailwarden/net';
import { scriptedSmtp, startRawFixture } from '@mailwarden/testing/smtp-server';
import { createTestCa, issueCert } from '@mailwarden/testing/tls';
import { median, printFigure, printRatio } from './lib/report.ts';

const CONCURRENCY = 4;
const ROUND_SECONDS = 2;
const ROUNDS = 6;
const SOAK_PROBES = Number(process.env.SMTP_BENCH_PROBES ?? 2000);
const HOST = 'mx.bench.test';
const ADDRESSES = Array.from({ length: CONCURRENCY }, (_, i) => `127.0.9.${i + 1}`);

async function serve(): Promise<void> {
  const ca = await createTestCa();
  const cert = await issueCert(ca, { names: [HOST], notAfter: new Date(Date.now() + 90 * 86_400_000) });
  const context = tls.createSecureContext({ cert: cert.chainPem, key: cert.keyPem });
  const servers = await Promise.all(
    ADDRESSES.map((host) =>
      startRawFixture({
        host,
        behaviour: scriptedSmtp({
          name: HOST,
          keywords: ['PIPELINING', 'SIZE 10240000', 'STARTTLS'],
          tls: context,
          replies: { VRFY: '252 2.0.0 send some mail, I will try my best', EXPN: '502 5.5.1 no' },
        }),
      }),
    ),
  );
  const ports = servers.map((s) => s.port);
  process.stdout.write(`${JSON.stringify({ ports, caPem: ca.certPem })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void Promise.all(servers.map((s) => s.close())).then(() => process.exit(0)));
}

/** Reads one SMTP reply (up to the line without a dash) from a socket. */
function reply(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (/(^|\n)\d{3} [^\n]*\n$/.test(text)) {
        socket.off('data', onData);
        socket.off('error', reject);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

const rawContexts = new Map<string, tls.SecureContext>();

/** The baseline: the fewest steps a STARTTLS handshake takes, with Node alone. */
async function rawStarttls(address: string, port: number, caPem: string): Promise<boolean> {
  const socket = net.connect({ host: address, port, noDelay: true });
  socket.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    await reply(socket);
    socket.write('EHLO bench.invalid\r\n');
    await reply(socket);
    socket.write('STARTTLS\r\n');
    await reply(socket);
    let ctx = rawContexts.get(caPem);
    if (!ctx) {
      ctx = tls.createSecureContext({ ca: [...tls.rootCertificates, caPem] });
      rawContexts.set(caPem, ctx);
    }
    const secure = tls.connect({ socket, servername: HOST, secureContext: ctx });
    secure.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const ok = secure.authorized;
    secure.destroy();
    return ok;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

function ourProbe(ports: number[], caPem: string, vrfyExpn: boolean) {
  const allow = parseAllowList('127.0.0.0/8');
  if (!allow.ok) throw new Error('allow-list');
  const limiter = createProbeLimiter({ connectionsPerSecond: Number.POSITIVE_INFINITY });
  return async (worker: number): Promise<boolean> => {
    const r = await probeMx(HOST, [ADDRESSES[worker] as string], {
      allow: allow.allow,
      port: ports[worker] as number,
      extraCa: [caPem],
      limiter,
      probeVersions: false,
      probeCiphers: false,
      vrfyExpn,
    });
    const a = r.addresses[0];
    return a?.outcome === 'tested' && a.starttls?.outcome === 'ok' && a.tls?.authorized === true;
  };
}

/** Runs `probe` on CONCURRENCY workers (one address each) for `seconds` or `count` probes. */
async function drive(
  probe: (worker: number) => Promise<boolean>,
  limit: { seconds?: number; count?: number },
): Promise<{ rate: number; done: number; failed: number; cpuUsPerProbe: number }> {
  let done = 0;
  let failed = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const until = limit.seconds ? started + limit.seconds * 1000 : Number.POSITIVE_INFINITY;
  const count = limit.count ?? Number.POSITIVE_INFINITY;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      while (performance.now() < until && done < count) {
        done++;
        if (!(await probe(worker))) failed++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    rate: done / ((performance.now() - started) / 1000),
    done,
    failed,
    cpuUsPerProbe: (used.user + used.system) / done,
  };
}

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function resources(): { handles: number; fds: number; heapMb: number } {
  gc();
  gc();
  return {
    handles: process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate').length,
    fds: readdirSync('/proc/self/fd').length,
    heapMb: process.memoryUsage().heapUsed / 1024 / 1024,
  };
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`SMTP servers exited with ${code}`)));
  });
  const { ports, caPem } = JSON.parse(firstLine) as { ports: number[]; caPem: string };
  const raw = (worker: number) => rawStarttls(ADDRESSES[worker] as string, ports[worker] as number, caPem);
  const ours = ourProbe(ports, caPem, false);
  const full = ourProbe(ports, caPem, true);
  try {
    // Warm-up: JIT, secure-context caches and the servers.
    await drive(raw, { count: 200 });
    await drive(ours, { count: 200 });
    await drive(full, { count: 100 });
    const ratios: number[] = [];
    const fullRatios: number[] = [];
    const rates = { raw: [] as number[], ours: [] as number[], full: [] as number[] };
    const cpu = { raw: [] as number[], ours: [] as number[], full: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const r = await drive(raw, { seconds: ROUND_SECONDS });
      const o = await drive(ours, { seconds: ROUND_SECONDS });
      const f = await drive(full, { seconds: ROUND_SECONDS });
      if (r.failed + o.failed + f.failed > 0) {
        console.log(`# round ${round}: failures raw=${r.failed} probe=${o.failed} full=${f.failed}`);
      }
      ratios.push(o.rate / r.rate);
      fullRatios.push(f.rate / r.rate);
      rates.raw.push(r.rate);
      rates.ours.push(o.rate);
      rates.full.push(f.rate);
      cpu.raw.push(r.cpuUsPerProbe);
      cpu.ours.push(o.cpuUsPerProbe);
      cpu.full.push(f.cpuUsPerProbe);
      console.log(
        `# round ${round}: probeMx ${o.rate.toFixed(0)}/s, with VRFY+EXPN ${f.rate.toFixed(0)}/s, raw node:tls ${r.rate.toFixed(0)}/s`,
      );
    }
    const baseline = Math.round(median(rates.raw));
    printRatio({
      bench: 'smtp-probe',
      metric: `starttls_probes_per_second_at_concurrency_${CONCURRENCY}`,
      candidate: Math.round(baseline * median(ratios)),
      baseline,
      unit: 'probes/s (median of per-round ratios)',
      better: 'higher',
      target: 0.75,
    });
    printRatio({
      bench: 'smtp-probe',
      metric: `default_session_probes_per_second_at_concurrency_${CONCURRENCY}`,
      candidate: Math.round(baseline * median(fullRatios)),
      baseline,
      unit: 'probes/s (median of per-round ratios)',
      better: 'higher',
    });
    printRatio({
      bench: 'smtp-probe',
      metric: 'client_cpu_per_starttls_probe',
      candidate: Math.round(median(cpu.ours)),
      baseline: Math.round(median(cpu.raw)),
      unit: 'µs CPU',
      better: 'lower',
    });
    printFigure('smtp-probe', 'client_cpu_per_default_session', Math.round(median(cpu.full)), 'µs CPU');

    const before = resources();
    const soak = await drive(ours, { count: SOAK_PROBES });
    await new Promise((r) => setTimeout(r, 200));
    const after = resources();
    console.log(`# soak: ${soak.done} probes, ${soak.failed} failed, ${soak.rate.toFixed(0)} probes/s`);
    printFigure('smtp-probe', 'soak_probes', soak.done, 'probes');
    printFigure('smtp-probe', 'soak_failed', soak.failed, 'probes');
    printFigure('smtp-probe', 'handles_growth', after.handles - before.handles, 'handles');
    printFigure('smtp-probe', 'fds_growth', after.fds - before.fds, 'fds');
    printFigure('smtp-probe', 'heap_growth', after.heapMb - before.heapMb, 'MB');
    const grew = after.handles > before.handles || after.fds > before.fds || after.heapMb - before.heapMb > 8;
    console.log(
      `# soak ${grew ? 'GREW' : 'flat'}: handles ${before.handles}->${after.handles}, fds ${before.fds}->${after.fds}, heap ${before.heapMb.toFixed(1)}->${after.heapMb.toFixed(1)} MB`,
    );
    if (grew || soak.failed > 0) process.exitCode = 1;
  } finally {
    child.stdin.end();
  }
}

if (process.argv[2] === '--serve') await serve();
else await main();
