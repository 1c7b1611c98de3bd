import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import type { Clock, Logger, SecretBox } from '@mailwarden/core';
import type { SigningKeyRow } from '../db-types.ts';
import type { RotationTx, SigningKeysRepository } from './signing-keys.repository.ts';

/**
 * The API's Ed25519 signing keys, kept in Postgres with the private half sealed under
 * ENCRYPTION_KEY, so every instance signs with the same key and rotation needs no operator
 * (docs/decisions/0003).
 *
 * Rotation: once the active key is `rotationIntervalSeconds - publishLeadSeconds` old, a successor
 * is created that activates `publishLeadSeconds` later. It is in the JWKS from its creation, so
 * clients that cache the JWKS (we say max-age 300) know it before it signs anything. The old key
 * stays published until its last access token has expired (`retires_at`), then it is deleted.
 */
export const JWT_ALGORITHM = 'EdDSA';
/** Margin for clock skew between instances and clients. */
const SKEW_SECONDS = 60;
/** Unknown `kid`s trigger a reload at most this often, so forged kids cannot hammer the database. */
const RELOAD_AFTER_UNKNOWN_KID_MS = 10_000;

export interface KeyRingOptions {
  repository: SigningKeysRepository;
  secretBox: SecretBox;
  clock: Clock;
  accessTtlSeconds: number;
  rotationIntervalSeconds: number;
  publishLeadSeconds: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** An Ed25519 public key as published (RFC 8037 §2). */
export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
  alg: string;
  use: string;
}

interface LoadedKey {
  kid: string;
  publicJwk: PublicJwk;
  publicKey: KeyObject;
  /** Null when it was sealed under a key this instance does not have. */
  privateKey: KeyObject | null;
  activatesAt: number;
  retiresAt: number | null;
}

export type KeyRing = ReturnType<typeof createKeyRing>;

export function createKeyRing(options: KeyRingOptions) {
  const { repository, secretBox, clock } = options;
  let keys: LoadedKey[] = [];
  let lastReloadMs = 0;
  let loading: Promise<void> | undefined;
  /** Kids already reported unreadable: once per process is enough for an operator. */
  const reported = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const now = () => clock.now().getTime();
  const context = (kid: string) => `jwt-signing-key:${kid}`;

  const load = (row: SigningKeyRow): LoadedKey => {
    let privateKey: KeyObject | null = null;
    try {
      const pem = secretBox.open(row.privateKeyCiphertext, context(row.kid)).toString('utf8');
      privateKey = createPrivateKey(pem);
    } catch {
      if (!reported.has(row.kid)) {
        reported.add(row.kid);
        options.logger?.warn({ kid: row.kid }, 'a signing key is sealed under an unknown encryption key');
      }
    }
    return {
      kid: row.kid,
      publicJwk: row.publicJwk as unknown as PublicJwk,
      publicKey: createPublicKey({ key: row.publicJwk as never, format: 'jwk' }),
      privateKey,
      activatesAt: row.activatesAt.getTime(),
      retiresAt: row.retiresAt?.getTime() ?? null,
    };
  };

  const activeOf = (list: LoadedKey[], at: number) =>
    list
      .filter((k) => k.privateKey && k.activatesAt <= at && (k.retiresAt === null || k.retiresAt > at))
      .at(-1);

  const newKeyRow = (activatesAt: Date) => {
    const kid = randomBytes(12).toString('base64url');
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const jwk = publicKey.export({ format: 'jwk' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    return {
      kid,
      algorithm: JWT_ALGORITHM,
      publicJwk: { ...jwk, kid, alg: JWT_ALGORITHM, use: 'sig' },
      privateKeyCiphertext: secretBox.seal(pem, context(kid)),
      publishedAt: clock.now(),
      activatesAt,
    };
  };

  /** Inside the lock: decide from fresh rows whether a key must be created. */
  const rotate = async (tx: RotationTx): Promise<boolean> => {
    const at = now();
    const loaded = (await tx.list()).map(load);
    const active = activeOf(loaded, at);
    const pending = loaded.some((k) => k.privateKey && k.activatesAt > at);
    let changed = false;
    if (!active) {
      // First start (or every key unreadable): nothing signed with a new key can exist yet, so it
      // may sign at once; there is no earlier JWKS to have been cached without it. Keys nobody here
      // can use any more (sealed under a discarded dev ENCRYPTION_KEY) leave the JWKS once their
      // tokens have expired.
      await tx.insert(newKeyRow(new Date(at)));
      for (const stale of loaded.filter((k) => !k.privateKey && k.retiresAt === null)) {
        await tx.setRetiresAt(stale.kid, new Date(at + (options.accessTtlSeconds + SKEW_SECONDS) * 1000));
      }
      changed = true;
    } else if (
      !pending &&
      at >= active.activatesAt + (options.rotationIntervalSeconds - options.publishLeadSeconds) * 1000
    ) {
      const next = newKeyRow(new Date(at + options.publishLeadSeconds * 1000));
      await tx.insert(next);
      await tx.setRetiresAt(
        active.kid,
        new Date(next.activatesAt.getTime() + (options.accessTtlSeconds + SKEW_SECONDS) * 1000),
      );
      options.logger?.info(
        { kid: next.kid, activatesAt: next.activatesAt },
        'published the next signing key',
      );
      changed = true;
    }
    await tx.deleteRetiredBefore(new Date(at));
    return changed;
  };

  const needsRotation = (list: LoadedKey[], at: number) => {
    const active = activeOf(list, at);
    if (!active) return true;
    const pending = list.some((k) => k.privateKey && k.activatesAt > at);
    return (
      !pending &&
      at >= active.activatesAt + (options.rotationIntervalSeconds - options.publishLeadSeconds) * 1000
    );
  };

  const reload = async () => {
    lastReloadMs = now();
    let loaded = (await repository.list()).map(load);
    if (needsRotation(loaded, now()) || loaded.some((k) => k.retiresAt !== null && k.retiresAt < now())) {
      await repository.withRotationLock(rotate);
      loaded = (await repository.list()).map(load);
    }
    keys = loaded;
  };

  /**
   * Loads the keys on first use (so building the app, e.g. to render OpenAPI, needs no database)
   * and from then on refreshes them periodically until `stop()`.
   */
  const ready = () => {
    loading ??= reload().then(
      () => {
        if (timer) return;
        const intervalMs = Math.min(60_000, (options.publishLeadSeconds * 1000) / 4);
        timer = setInterval(() => {
          reload().catch((err) => options.logger?.error({ err }, 'signing key refresh failed'));
        }, intervalMs);
        timer.unref();
      },
      (err) => {
        loading = undefined;
        throw err;
      },
    );
    return loading;
  };

  return {
    /** Loads keys and rotates when due (the timer does this every minute). */
    refresh: reload,
    ready,
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    async signingKey(): Promise<{ kid: string; privateKey: KeyObject }> {
      await ready();
      const active = activeOf(keys, now());
      if (!active?.privateKey) throw new Error('no active signing key');
      return { kid: active.kid, privateKey: active.privateKey };
    },
    /** The public key for a token's `kid`, if we published it and it has not retired. */
    async verificationKey(kid: string): Promise<KeyObject | undefined> {
      await ready();
      const find = () => keys.find((k) => k.kid === kid && (k.retiresAt === null || k.retiresAt > now()));
      let key = find();
      if (!key && now() - lastReloadMs > RELOAD_AFTER_UNKNOWN_KID_MS) {
        await reload();
        key = find();
      }
      return key?.publicKey;
    },
    /** RFC 7517 key set: the active key, the next one (published ahead) and retiring ones. */
    async jwks(): Promise<{ keys: PublicJwk[] }> {
      await ready();
      const at = now();
      return { keys: keys.filter((k) => k.retiresAt === null || k.retiresAt > at).map((k) => k.publicJwk) };
    },
  };
}
