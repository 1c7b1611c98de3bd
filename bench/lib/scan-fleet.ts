/**
 * The fleet bench/scan-throughput.bench.ts scans, and the servers that answer for it, each in a
 * child process of its own (this file is their entry point): the authoritative DNS server of
 * libs/testing with every domain's zone, and an HTTPS server for the MTA-STS policies and the BIMI
 * logo with a certificate per `mta-sts.<domain>` (bench/scan-certs.ts).
 *
 * Every domain has MX (its own host, A + PTR back), SPF with a shared include, DMARC p=reject, a
 * 2048-bit DKIM key under `mw1`, `_mta-sts` + a policy covering its MX, TLS-RPT and BIMI. Every
 * `mta-sts.<domain>` resolves to one loopback address whose HTTPS server picks a certificate per
 * SNI name and writes the policy for the Host asked; the BIMI logos are all at one brand URL, as a
 * brand's many domains have them.
 *
 * The fixture processes run at a raised priority (when root): they stand in for servers on other
 * machines, and the client under test should not wait for their CPU.
 */
import { type ChildProcess, fork, type Serializable } from 'node:child_process';
import { createPublicKey, randomBytes } from 'node:crypto';
import https from 'node:https';
import { setPriority } from 'node:os';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { RecordType } from '@mailwarden/core';
import type { Zones } from '../../libs/testing/src/dns-server/fixtures.ts';
import { startDnsServer } from '../../libs/testing/src/dns-server/index.ts';

/** Nice value of the fixture processes (lower runs first). */
const FIXTURE_PRIORITY = -10;
export const DNS_HOST = '127.78.0.53';
export const WEB_HOST = '127.78.0.2';
export const SELECTOR = 'mw1';
const LOGO_URL = 'https://brand.example/logo.svg';
/** Distinct (name, type) questions a scan of one domain needs (questionsOf). */
export const PER_DOMAIN_QUESTIONS = 13;
/** Questions every domain shares: the SPF include, `_dmarc.example`, the logo host's A and AAAA. */
export const SHARED_QUESTIONS = 4;
const self = fileURLToPath(import.meta.url);

export const domain = (i: number) => `d${String(i).padStart(5, '0')}.example`;
const mxAddress = (i: number) => `198.18.${i >> 8}.${i & 0xff}`;
const reverseOf = (i: number) => `${i & 0xff}.${i >> 8}.18.198.in-addr.arpa`;

/** The (name, type) questions a scan of domain i must ask, and the names that belong to it. */
export function questionsOf(i: number): [string, RecordType][] {
  const d = domain(i);
  return [
    [d, 'MX'],
    [d, 'TXT'],
    [`mx.${d}`, 'A'],
    [`mx.${d}`, 'AAAA'],
    [reverseOf(i), 'PTR'],
    [`_dmarc.${d}`, 'TXT'],
    [`_domainkey.${d}`, 'TXT'],
    [`${SELECTOR}._domainkey.${d}`, 'TXT'],
    [`_mta-sts.${d}`, 'TXT'],
    [`mta-sts.${d}`, 'A'],
    [`mta-sts.${d}`, 'AAAA'],
    [`_smtp._tls.${d}`, 'TXT'],
    [`default._bimi.${d}`, 'TXT'],
  ];
}

/** A 2048-bit RSA public key; no primes needed, nothing is ever signed with it. */
function dkimKey(): string {
  const modulus = randomBytes(256);
  modulus[0] = (modulus[0] ?? 0) | 0x80;
  modulus[255] = (modulus[255] ?? 0) | 1;
  const key = createPublicKey({
    key: { kty: 'RSA', n: modulus.toString('base64url'), e: 'AQAB' },
    format: 'jwk',
  });
  return key.export({ type: 'spki', format: 'der' }).toString('base64');
}

function zones(count: number): Zones {
  const key = dkimKey();
  const out: Zones = {
    example: {
      records: {
        '_spf.provider': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
        brand: { A: [WEB_HOST] },
      },
    },
    '18.198.in-addr.arpa': { records: {} },
  };
  const reverse = out['18.198.in-addr.arpa']?.records as NonNullable<Zones[string]['records']>;
  for (let i = 0; i < count; i++) {
    const d = domain(i);
    out[d] = {
      records: {
        '@': {
          MX: [{ preference: 10, exchange: `mx.${d}` }],
          TXT: ['v=spf1 mx include:_spf.provider.example -all'],
        },
        mx: { A: [mxAddress(i)] },
        _dmarc: { TXT: [`v=DMARC1; p=reject; rua=mailto:dmarc@${d}`] },
        [`${SELECTOR}._domainkey`]: { TXT: [`v=DKIM1; k=rsa; p=${key}`] },
        '_mta-sts': { TXT: ['v=STSv1; id=20260101'] },
        'mta-sts': { A: [WEB_HOST] },
        '_smtp._tls': { TXT: [`v=TLSRPTv1; rua=mailto:tlsrpt@${d}`] },
        'default._bimi': { TXT: [`v=BIMI1; l=${LOGO_URL}`] },
      },
    };
    reverse[reverseOf(i)] = { PTR: [`mx.${d}`] };
  }
  return out;
}

const SVG =
  '<svg version="1.2" baseProfile="tiny-ps" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><title>Bench</title><rect width="64" height="64" fill="#123456"/></svg>';

// ---- the fixture processes --------------------------------------------------------------------------

async function serveDns(count: number): Promise<void> {
  const server = await startDnsServer({ host: DNS_HOST, zones: zones(count), logQueries: false });
  process.on('message', (m: { blackhole?: string[]; clear?: boolean }) => {
    if (m.clear) server.clearFaults();
    for (const name of m.blackhole ?? []) server.setFault(name, { kind: 'drop' });
    process.send?.({ ok: true });
  });
  process.send?.({ port: server.port });
}

async function serveHttps(keyPem: string, chains: Record<string, string>): Promise<void> {
  const contexts = new Map<string, tls.SecureContext>();
  for (const [name, chain] of Object.entries(chains))
    contexts.set(name, tls.createSecureContext({ cert: chain, key: keyPem }));
  const server = https.createServer(
    { SNICallback: (name, cb) => cb(null, contexts.get(name.toLowerCase())) },
    (req, res) => {
      const host = (req.headers.host ?? '').toLowerCase();
      if (req.url === '/.well-known/mta-sts.txt' && host.startsWith('mta-sts.')) {
        const body = `version: STSv1\nmode: enforce\nmx: mx.${host.slice('mta-sts.'.length)}\nmax_age: 1209600\n`;
        res
          .writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) })
          .end(body);
      } else if (req.url === '/logo.svg') {
        res
          .writeHead(200, { 'content-type': 'image/svg+xml', 'content-length': Buffer.byteLength(SVG) })
          .end(SVG);
      } else res.writeHead(404).end();
    },
  );
  server.on('tlsClientError', () => {});
  server.listen(443, WEB_HOST, () => process.send?.({ ok: true }));
}

export interface Fixture {
  child: ChildProcess;
  /** The first message the child sent: `{ port }` for the DNS server. */
  first: Record<string, unknown>;
}

function start(args: string[], payload?: Serializable): Promise<Fixture> {
  const proc = fork(self, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  // The fixtures stand in for servers on other machines: their CPU should not be what the
  // measured client waits for. Raising their priority needs root; without it they run as is.
  try {
    if (proc.pid !== undefined) setPriority(proc.pid, FIXTURE_PRIORITY);
  } catch {
    console.log(`# could not raise the priority of ${args[0]}; fixtures compete with the client for CPU`);
  }
  if (payload !== undefined) proc.send(payload);
  return new Promise((resolve, reject) => {
    proc.once('message', (first) => resolve({ child: proc, first: first as Record<string, unknown> }));
    proc.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

/** The DNS server for `count` domains; answers `{ port }` first. */
export const startFleetDns = (count: number) => start(['--serve-dns', String(count)]);

/** The HTTPS server, with the leaf key and the certificate chain of every SNI name. */
export const startFleetHttps = (keyPem: string, chains: Record<string, string>) =>
  start(['--serve-https'], { keyPem, chains });

/** Sends the DNS server a change of faults and waits until it is in place. */
export function askDns(
  proc: ChildProcess,
  message: { blackhole?: string[]; clear?: boolean },
): Promise<void> {
  return new Promise((resolve) => {
    proc.once('message', () => resolve());
    proc.send(message);
  });
}

if (import.meta.main) {
  const role = process.argv[2];
  if (role === '--serve-dns') await serveDns(Number(process.argv[3]));
  else if (role === '--serve-https') {
    process.once('message', (m: { keyPem: string; chains: Record<string, string> }) => {
      void serveHttps(m.keyPem, m.chains);
    });
  }
}
