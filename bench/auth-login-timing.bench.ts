/**
 * Issue 3: "same response and similar timing for unknown accounts". Sign-in with a wrong password
 * for an address that has an account, and for one that has none, interleaved, through the real
 * services (attempt guard in Redis, user lookup and audit in Postgres, argon2id at the configured
 * cost); then the same for password-reset requests. Each attempt comes from its own address and
 * each known account is tried fewer times than its backoff allows, so no limit shapes the timing.
 * Prints the ratio of the medians both ways; targets: within 20% either way. The deterministic
 * check (same argon2 work, same round trips) is apps/api/test/auth-timing.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { waitForReady } from '@mailwarden/queue';
import { loadApiConfig } from '../apps/api/src/config.ts';
import { createApiContainer } from '../apps/api/src/container.ts';
import { benchEnv, createBenchDatabase } from './lib/auth-fixture.ts';
import { median, printFigure, printRatio } from './lib/report.ts';

const ACCOUNTS = 24;
const LOGINS_PER_ACCOUNT = 4; // below the per-account backoff (10 free failures)
const RESETS_PER_ACCOUNT = 3; // the per-account reset cap
const PASSWORD = 'glacier tundra marmalade obelisk';

let ipCounter = 0;
const nextIp = () => {
  ipCounter++;
  return `10.77.${(ipCounter >> 8) & 0xff}.${ipCounter & 0xff}`;
};

async function timed(call: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  try {
    await call();
  } catch {
    // A refused sign-in is the point; only its duration counts.
  }
  return performance.now() - start;
}

async function main() {
  const database = await createBenchDatabase();
  const config = loadApiConfig({ ...benchEnv(database.appUrl), LOG_LEVEL: 'silent' });
  const container = createApiContainer(config);
  try {
    await waitForReady(container.redis, 5_000);
    const { auth } = container;
    const emails: string[] = [];
    for (let i = 0; i < ACCOUNTS; i++) {
      const email = `timing-${i}-${randomBytes(3).toString('hex')}@bench.example`;
      await auth.signUp.signUp(
        { email, password: PASSWORD, tenantName: `Timing ${i}` },
        { ip: nextIp(), userAgent: 'bench' },
      );
      emails.push(email);
    }
    const meta = () => ({ ip: nextIp(), userAgent: 'bench' });
    const ghost = () => `ghost-${randomBytes(6).toString('hex')}@bench.example`;
    const wrong = () => `wrong ${randomBytes(9).toString('base64')}`;

    // Warm-up: JIT, pools, the first statements of each kind.
    for (let i = 0; i < 4; i++) {
      await timed(() => auth.login.login({ email: ghost(), password: wrong() }, meta()));
    }
    const known: number[] = [];
    const unknown: number[] = [];
    for (let round = 0; round < LOGINS_PER_ACCOUNT; round++) {
      for (const email of emails) {
        known.push(await timed(() => auth.login.login({ email, password: wrong() }, meta())));
        unknown.push(await timed(() => auth.login.login({ email: ghost(), password: wrong() }, meta())));
      }
    }
    const resetKnown: number[] = [];
    const resetUnknown: number[] = [];
    for (let round = 0; round < RESETS_PER_ACCOUNT; round++) {
      for (const email of emails) {
        resetKnown.push(await timed(() => auth.passwords.requestReset(email, meta())));
        resetUnknown.push(await timed(() => auth.passwords.requestReset(ghost(), meta())));
      }
    }
    console.log(
      `# ${known.length} sign-ins each way; argon2id m=${config.PASSWORD_HASH_MEMORY_KIB} KiB t=${config.PASSWORD_HASH_TIME_COST}`,
    );
    const pairs: Array<[string, number[], number[]]> = [
      ['login', unknown, known],
      ['reset_request', resetUnknown, resetKnown],
    ];
    for (const [metric, unknownMs, knownMs] of pairs) {
      const u = median(unknownMs);
      const k = median(knownMs);
      printRatio({
        bench: 'auth-login-timing',
        metric: `${metric}_unknown_vs_known_median`,
        candidate: u,
        baseline: k,
        unit: 'ms',
        better: 'lower',
        target: 1.2,
      });
      printRatio({
        bench: 'auth-login-timing',
        metric: `${metric}_known_vs_unknown_median`,
        candidate: k,
        baseline: u,
        unit: 'ms',
        better: 'lower',
        target: 1.2,
      });
      printFigure('auth-login-timing', `${metric}_known_median`, k, 'ms');
      printFigure('auth-login-timing', `${metric}_unknown_median`, u, 'ms');
    }
  } finally {
    await container.close();
    await database.drop();
  }
}

await main();
