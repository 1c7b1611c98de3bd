import { parseOptions } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { createPasswordHasher } from './password-hasher.ts';
import { createSemaphore } from './semaphore.ts';

const params = { memoryKib: 19_456, timeCost: 2, concurrency: 2, queueLimit: 8 };

describe(createPasswordHasher.name, () => {
  const hasher = createPasswordHasher(params);

  it('should hash with argon2id at m=19 MiB, t=2, p=1 and a fresh salt', async () => {
    const a = await hasher.hash('glacier tundra marmalade');
    const b = await hasher.hash('glacier tundra marmalade');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(a).not.toBe(b);
    expect(parseOptions(a)).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  });

  it('should verify the password and nothing else, without truncating long ones', async () => {
    const long = `${'x'.repeat(199)}A`;
    const phc = await hasher.hash(long);
    expect(await hasher.verify(phc, long)).toBe(true);
    expect(await hasher.verify(phc, `${'x'.repeat(199)}B`)).toBe(false);
    expect(await hasher.verify(phc, 'x'.repeat(199))).toBe(false);
    expect(await hasher.verify('not a phc string', long)).toBe(false);
  });

  it('should treat canonically equivalent Unicode as the same password (NFKC)', async () => {
    const composed = 'Caf\u00e9 au lait, s\u2019il vous pla\u00eet';
    const decomposed = 'Cafe\u0301 au lait, s\u2019il vous plai\u0302t';
    expect(await hasher.verify(await hasher.hash(composed), decomposed)).toBe(true);
  });

  it('should spend one verification and no hash on an unknown account, even the first one', async () => {
    const fresh = createPasswordHasher(params);
    expect(await fresh.verifyDummy('whatever was typed')).toBe(false);
    expect(await fresh.verifyDummy('whatever was typed')).toBe(false);
    expect(fresh.stats).toEqual({ hashes: 0, verifications: 2 });
  });

  it('should ask for a rehash when the parameters were raised', async () => {
    const weaker = createPasswordHasher({ ...params, timeCost: 3 });
    const phc = await hasher.hash('glacier tundra marmalade');
    expect(hasher.needsRehash(phc)).toBe(false);
    expect(weaker.needsRehash(phc)).toBe(true);
    expect(hasher.needsRehash('$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA')).toBe(true);
  });

  it('should spend a real verification on unknown accounts', async () => {
    expect(await hasher.verifyDummy('anything at all')).toBe(false);
  });
});

describe(createSemaphore.name, () => {
  it('should run at most N tasks at once and refuse past the queue limit with 503', async () => {
    const gate = createSemaphore(2, 1);
    let running = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    const task = () =>
      gate.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => release.push(resolve));
        running--;
      });
    const first = [task(), task(), task()];
    await expect(task()).rejects.toMatchObject({
      code: 'service_unavailable',
      extensions: { retryAfterSeconds: 1 },
    });
    expect(gate.active).toBe(2);
    expect(gate.waiting).toBe(1);
    while (release.length > 0 || gate.active > 0) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(first);
    expect(peak).toBe(2);
  });
});
