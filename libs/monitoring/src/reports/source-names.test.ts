/**
 * The source-name cache against the run's real Postgres, with an in-memory zone as DNS: names come
 * from DNS once and from the cache after, stale and failed entries are asked again, and a read
 * never waits past its deadline.
 */
import { manualClock } from '@mailwarden/core';
import { createZoneResolver } from '@mailwarden/testing/zone-resolver';
import { describe, expect, it } from 'vitest';
import { db } from './reports.test-helper.ts';
import { createSourceNamer, sourceNameRetryMs, sourceNameTtlMs } from './source-names.ts';

/**
 * Addresses unique to this file and to each fixture (the cache table is shared by the whole run):
 * a random start, then one /24 after another, so two fixtures of one run never share addresses.
 */
let nextOctet = Math.floor(Math.random() * 100) + 20;
const octet = () => nextOctet++;

function fixture() {
  const net = `198.18.${octet()}`;
  const ses = `${net}.10`;
  const none = `${net}.11`;
  const flaky = `${net}.12`;
  const rev = (ip: string) => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const resolver = createZoneResolver({
    [rev(ses)]: { PTR: ['a8-30.smtp-out.amazonses.com.'] },
    'a8-30.smtp-out.amazonses.com': { A: [ses] },
    [rev(flaky)]: { unknown: 'timeout' },
  });
  return { resolver, ses, none, flaky };
}

describe('source names', () => {
  it('should look an address up once and serve it from the cache until it is stale', async () => {
    const { resolver, ses, none, flaky } = fixture();
    const clock = manualClock(new Date('2026-11-28T00:00:00Z'));
    const namer = createSourceNamer({ db, resolver, clock });

    const first = await namer.names([ses, none, flaky, ses]);
    expect(first.get(ses)).toEqual({
      ptr: 'a8-30.smtp-out.amazonses.com',
      forwardConfirmed: true,
      provider: { id: 'amazon_ses', name: 'Amazon SES' },
    });
    expect(first.get(none)).toEqual({ ptr: null, forwardConfirmed: false, provider: null });
    expect(first.has(flaky)).toBe(false);
    const asked = resolver.calls.length;
    expect(asked).toBe(4); // PTR ×3, A of the SES name

    await namer.names([ses, none]);
    expect(resolver.calls.length).toBe(asked);

    // A failure is retried after ten minutes, a name after a day.
    clock.advance(sourceNameRetryMs + 1);
    await namer.names([ses, none, flaky]);
    expect(resolver.calls.length).toBe(asked + 1);
    clock.advance(sourceNameTtlMs);
    await namer.names([ses]);
    expect(resolver.calls.length).toBe(asked + 3);
  });

  it('should answer by its deadline and cache the late lookups for the next read', async () => {
    const { ses } = fixture();
    const clock = manualClock(new Date('2026-11-28T00:00:00Z'));
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const inner = fixture().resolver;
    const slow = {
      async query(...args: Parameters<typeof inner.query>) {
        await gate;
        return inner.query(...args);
      },
    } as typeof inner;
    const namer = createSourceNamer({ db, resolver: slow, clock, deadlineMs: 50 });
    const started = Date.now();
    const answer = await namer.names([ses]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(answer.size).toBe(0);
    release();
    await expect
      .poll(async () => (await createSourceNamer({ db, resolver: inner, clock }).names([ses])).size)
      .toBe(1);
  });

  it('should look up at most maxLookups addresses per read', async () => {
    const { resolver } = fixture();
    const clock = manualClock(new Date('2026-11-28T00:00:00Z'));
    const namer = createSourceNamer({ db, resolver, clock, maxLookups: 3 });
    const base = `198.19.${octet()}`;
    await namer.names(Array.from({ length: 10 }, (_, i) => `${base}.${i + 1}`));
    expect(resolver.calls.length).toBe(3);
  });
});
