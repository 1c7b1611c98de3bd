import { type BackoffPolicy, rateLimited, type Throttle, throttleSubject } from './throttle.ts';

/**
 * The limits on every credential path, in one table (docs/permissions.md repeats it). Per IP: a
 * fixed window that stops spraying many accounts from one address. Per account: a backoff that
 * slows guessing one account from many addresses, capped so a victim waits at most a minute, and a
 * steeper one per (account, IP) pair, which does not touch the victim at their own address.
 */
export const attemptPolicies = {
  login: {
    perIp: { limit: 30, windowSeconds: 60 },
    perAccount: { freeFailures: 10, baseSeconds: 1, maxSeconds: 60, windowSeconds: 900 },
    perAccountAndIp: { freeFailures: 5, baseSeconds: 1, maxSeconds: 900, windowSeconds: 3600 },
  },
  secondFactor: {
    perIp: { limit: 30, windowSeconds: 60 },
    perAccount: { freeFailures: 5, baseSeconds: 2, maxSeconds: 300, windowSeconds: 900 },
    perAccountAndIp: { freeFailures: 5, baseSeconds: 2, maxSeconds: 900, windowSeconds: 3600 },
  },
  passwordReset: { perIp: { limit: 10, windowSeconds: 3600 }, perAccount: { limit: 3, windowSeconds: 3600 } },
  signUp: { perIp: { limit: 10, windowSeconds: 3600 }, perAccount: { limit: 3, windowSeconds: 3600 } },
} as const;

type GuardedKind = 'login' | 'secondFactor';

export interface AttemptGuard {
  /** Refuses (429) when the IP is over its window or the account is in backoff. Counts the attempt. */
  admit(kind: GuardedKind, account: string, ip: string): Promise<void>;
  failed(kind: GuardedKind, account: string, ip: string): Promise<void>;
  succeeded(kind: GuardedKind, account: string, ip: string): Promise<void>;
  /** A plain cap per IP and per account (password reset, sign-up). */
  capped(kind: 'passwordReset' | 'signUp', account: string, ip: string): Promise<void>;
}

export function createAttemptGuard(throttle: Throttle): AttemptGuard {
  const keys = (kind: string, account: string, ip: string) => {
    const subject = throttleSubject(account);
    return { account: `${kind}:acct:${subject}`, pair: `${kind}:pair:${subject}:${throttleSubject(ip)}` };
  };
  const backoffs = (kind: GuardedKind): [BackoffPolicy, BackoffPolicy] => [
    attemptPolicies[kind].perAccount,
    attemptPolicies[kind].perAccountAndIp,
  ];
  return {
    async admit(kind, account, ip) {
      const k = keys(kind, account, ip);
      const [perIp, perAccount, perPair] = await Promise.all([
        throttle.consume(
          `${kind}:ip:${throttleSubject(ip)}`,
          attemptPolicies[kind].perIp.limit,
          attemptPolicies[kind].perIp.windowSeconds,
        ),
        throttle.checkBackoff(k.account),
        throttle.checkBackoff(k.pair),
      ]);
      const refused = [perIp, perAccount, perPair].filter((v) => !v.allowed);
      if (refused.length > 0) {
        throw rateLimited(
          Math.max(...refused.map((v) => v.retryAfterSeconds)),
          `${kind === 'login' ? 'sign-in' : 'second-factor'} attempts`,
        );
      }
    },
    async failed(kind, account, ip) {
      const k = keys(kind, account, ip);
      const [perAccount, perPair] = backoffs(kind);
      await Promise.all([
        throttle.recordFailure(k.account, perAccount),
        throttle.recordFailure(k.pair, perPair),
      ]);
    },
    async succeeded(kind, account, ip) {
      const k = keys(kind, account, ip);
      await Promise.all([throttle.clearFailures(k.account), throttle.clearFailures(k.pair)]);
    },
    async capped(kind, account, ip) {
      const policy = attemptPolicies[kind];
      const [perIp, perAccount] = await Promise.all([
        throttle.consume(`${kind}:ip:${throttleSubject(ip)}`, policy.perIp.limit, policy.perIp.windowSeconds),
        throttle.consume(
          `${kind}:acct:${throttleSubject(account)}`,
          policy.perAccount.limit,
          policy.perAccount.windowSeconds,
        ),
      ]);
      const refused = [perIp, perAccount].filter((v) => !v.allowed);
      if (refused.length > 0) {
        throw rateLimited(
          Math.max(...refused.map((v) => v.retryAfterSeconds)),
          kind === 'signUp' ? 'sign-ups' : 'password reset requests',
        );
      }
    },
  };
}
