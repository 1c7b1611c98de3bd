/**
 * The live `events` subscription over WebSocket: this tenant's events and nobody else's, events the
 * worker publishes from another process (Redis pub/sub), and refused connections.
 */
import { decodeId, systemClock } from '@mailwarden/core';
import { createDnsFamilyRunner, runCheckJob } from '@mailwarden/monitoring';
import { parseAllowList } from '@mailwarden/net';
import { createRedisLiveEmitter, publishLiveEvents } from '@mailwarden/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type SignedUp, signUp } from './auth-helpers.ts';
import {
  addDomain,
  type MonitoringTestbed,
  serveDomain,
  startMonitoringTestbed,
  uniqueApex,
} from './monitoring-helpers.ts';

let bed: MonitoringTestbed;
let owner: SignedUp;
beforeAll(async () => {
  bed = await startMonitoringTestbed();
  owner = await signUp(bed.t);
});
afterAll(() => bed.close());

function loopbackAllow() {
  const parsed = parseAllowList('127.0.0.0/8');
  if (!parsed.ok) throw new Error('allow list');
  return parsed.allow;
}

describe('the events subscription', () => {
  let url: string;
  beforeAll(async () => {
    await bed.t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = bed.t.app.server.address() as { port: number };
    url = `ws://127.0.0.1:${address.port}/graphql`;
  });

  interface Client {
    messages: Record<string, unknown>[];
    send(message: object): void;
    next(
      predicate: (m: Record<string, unknown>) => boolean,
      timeoutMs?: number,
    ): Promise<Record<string, unknown>>;
    close(): void;
  }

  async function connect(payload: object | undefined): Promise<Client> {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    const messages: Record<string, unknown>[] = [];
    const waiters: (() => void)[] = [];
    ws.addEventListener('message', (event) => {
      messages.push(JSON.parse(String(event.data)));
      for (const wake of waiters.splice(0)) wake();
    });
    ws.addEventListener('close', () => {
      messages.push({ type: '__closed' });
      for (const wake of waiters.splice(0)) wake();
    });
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('error', reject, { once: true });
    });
    const client: Client = {
      messages,
      send: (message) => ws.send(JSON.stringify(message)),
      async next(predicate, timeoutMs = 3000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = messages.find(predicate);
          if (found) return found;
          const left = deadline - Date.now();
          if (left <= 0) throw new Error(`no matching message; got ${JSON.stringify(messages)}`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, left);
            waiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
      },
      close: () => ws.close(),
    };
    client.send({ type: 'connection_init', ...(payload ? { payload } : {}) });
    return client;
  }

  it('should deliver this tenant’s events live, and nothing to another tenant', async () => {
    const mine = await connect({ authorization: `Bearer ${owner.accessToken}` });
    await mine.next((m) => m.type === 'connection_ack');
    mine.send({
      id: '1',
      type: 'subscribe',
      payload: {
        query: 'subscription { events(types: ["domain.verified"]) { id type domain { id name } payload } }',
      },
    });
    const other = await signUp(bed.t);
    const theirs = await connect({ authorization: `Bearer ${other.accessToken}` });
    await theirs.next((m) => m.type === 'connection_ack');
    theirs.send({ id: '1', type: 'subscribe', payload: { query: 'subscription { events { id type } }' } });
    // Let both subscriptions register before the event.
    await new Promise((resolve) => setTimeout(resolve, 100));

    const name = uniqueApex('live');
    const domain = await addDomain(bed.t, owner.accessToken, name);
    bed.dns.setZone(name, { records: { _mailwarden: { TXT: [domain.verification.recordValue] } } });
    const res = await bed.t.app.inject({
      method: 'POST',
      url: `/v1/domains/${domain.id}/verify`,
      headers: bearer(owner.accessToken),
    });
    expect(res.statusCode).toBe(200);
    const message = await mine.next((m) => m.type === 'next');
    const event = (message.payload as { data: { events: { type: string; domain: unknown; id: string } } })
      .data.events;
    expect(event).toMatchObject({ type: 'domain.verified', domain: { id: domain.id, name } });
    const rest = await bed.t.app.inject({
      url: `/v1/events?domainId=${domain.id}`,
      headers: bearer(owner.accessToken),
    });
    expect(rest.json().items[0].id).toBe(event.id);

    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(theirs.messages.filter((m) => m.type === 'next')).toEqual([]);
    mine.close();
    theirs.close();
  });

  it('should deliver events the worker publishes from another process, through Redis', async () => {
    const mine = await connect({ authorization: `Bearer ${owner.accessToken}` });
    await mine.next((m) => m.type === 'connection_ack');
    mine.send({
      id: '1',
      type: 'subscribe',
      payload: { query: 'subscription { events(types: ["finding.opened"]) { id type domain { name } } }' },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const name = uniqueApex('worker-live');
    serveDomain(bed.dns, name);
    const domain = await addDomain(bed.t, owner.accessToken, name);
    // What the worker does after its commits: a run, then the refs on its own Redis emitter.
    const tenant = decodeId('ten', owner.tenantId)!;
    const payloads = await bed.t.container.monitoring.domains.scanNow(tenant, domain.id);
    const runners = {
      dns: createDnsFamilyRunner({ resolver: bed.client, allow: loopbackAllow(), fetchTimeoutMs: 500 }),
    };
    const summary = await runCheckJob(payloads.find((p) => p.family === 'dns')!, {
      db: bed.t.container.db,
      runners,
      clock: systemClock,
    });
    const workerEmitter = createRedisLiveEmitter('redis://127.0.0.1:6379');
    try {
      await publishLiveEvents(workerEmitter, summary.live);
    } finally {
      await workerEmitter.closeAsync();
    }
    const message = await mine.next((m) => m.type === 'next');
    const event = (message.payload as { data: { events: { type: string; domain: { name: string } } } }).data
      .events;
    expect(event).toMatchObject({ type: 'finding.opened', domain: { name } });
    mine.close();
  });

  it('should refuse a connection without valid credentials, and a too deep subscription', async () => {
    const anonymous = await connect(undefined);
    const refused = await anonymous.next((m) => m.type === 'connection_error' || m.type === '__closed');
    expect(['connection_error', '__closed']).toContain(refused.type);
    anonymous.close();
    const forged = await connect({ authorization: 'Bearer mw_forged' });
    expect((await forged.next((m) => m.type === 'connection_error' || m.type === '__closed')).type).not.toBe(
      'connection_ack',
    );
    forged.close();

    const client = await connect({ authorization: `Bearer ${owner.accessToken}` });
    await client.next((m) => m.type === 'connection_ack');
    client.send({
      id: '2',
      type: 'subscribe',
      payload: {
        query:
          'subscription { events { domain { openFindings { domain { openFindings { domain { openFindings { domain { openFindings { domain { openFindings { id } } } } } } } } } } } }',
      },
    });
    const error = await client.next((m) => m.type === 'error' || m.type === '__closed');
    expect(error.type).toBe('error');
    client.close();
  });
});
