import tls from 'node:tls';
import { analyseMxProbe, type MxProbeContext } from '@mailwarden/checks';
import { createProbeLimiter, type ProbeMxOptions, parseAllowList, probeMx } from '@mailwarden/net';
import {
  type RawFixture,
  type SmtpFixtureOptions,
  startRawFixture,
  startSmtpFixture,
  type TestSmtpServer,
} from '@mailwarden/testing/smtp-server';
import { createTestCa, type IssuedCert, issueCert, type TestCa } from '@mailwarden/testing/tls';
import { afterAll, beforeAll } from 'vitest';

export const DAY_MS = 86_400_000;
export const allow = (() => {
  const r = parseAllowList('127.0.0.0/8');
  if (!r.ok) throw new Error('allow-list');
  return r.allow;
})();

export let ca: TestCa;
export let good: IssuedCert;
export const servers: { close(): Promise<void> }[] = [];

/** A limiter of our own: the shared one's politeness rate would only slow the tests down. */
export const limiter = createProbeLimiter({ connectionsPerSecond: Number.POSITIVE_INFINITY });

export function options(extra: Partial<ProbeMxOptions> = {}): ProbeMxOptions {
  return {
    allow,
    extraCa: [ca.certPem],
    limiter,
    connectTimeoutMs: 2000,
    replyTimeoutMs: 1500,
    sessionTimeoutMs: 5000,
    probeVersions: false,
    probeCiphers: false,
    ...extra,
  };
}

export async function smtp(
  opts: Omit<SmtpFixtureOptions, 'tls'> & { cert?: IssuedCert | null },
): Promise<TestSmtpServer> {
  const { cert, ...rest } = opts;
  const chosen = cert === undefined ? good : cert;
  const s = await startSmtpFixture({
    name: 'mx.good.test',
    ...rest,
    ...(chosen ? { tls: { cert: chosen.chainPem, key: chosen.keyPem } } : {}),
  });
  servers.push(s);
  return s;
}

export async function raw(
  host: string,
  behaviour: Parameters<typeof startRawFixture>[0]['behaviour'],
): Promise<RawFixture> {
  const s = await startRawFixture({ host, behaviour });
  servers.push(s);
  return s;
}

export function contextFor(extra: Partial<MxProbeContext> = {}): MxProbeContext {
  return { now: new Date(), ...extra };
}

export async function run(
  host: string,
  server: { host: string; port: number },
  probe: Partial<ProbeMxOptions> = {},
  ctx: Partial<MxProbeContext> = {},
) {
  const result = await probeMx(host, [server.host], options({ port: server.port, ...probe }));
  const analysis = await analyseMxProbe(result, contextFor(ctx));
  return { result, analysis, codes: analysis.findings.map((f) => f.code).sort() };
}

export function secureContext(cert: IssuedCert, extra: tls.SecureContextOptions = {}): tls.SecureContext {
  return tls.createSecureContext({ cert: cert.chainPem, key: cert.keyPem, ...extra });
}

beforeAll(async () => {
  ca = await createTestCa();
  good = await issueCert(ca, { names: ['mx.good.test'], notAfter: new Date(Date.now() + 90 * DAY_MS) });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
