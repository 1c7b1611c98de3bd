/**
 * Alert endpoints over REST: create (secret once), list, show, change, rotate, test, deliveries,
 * delete; SSRF refusal at save time without dialling; roles; another tenant sees nothing.
 */
import { decodeId } from '@mailwarden/core';
import { schema, withTenant } from '@mailwarden/db';
import { queueNames } from '@mailwarden/queue';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  bearer,
  expectProblem,
  type SignedUp,
  signIn,
  signUp,
  uniqueEmail,
} from './auth-helpers.ts';
import { type MonitoringTestbed, startMonitoringTestbed } from './monitoring-helpers.ts';

let bed: MonitoringTestbed;
let owner: SignedUp;
beforeAll(async () => {
  bed = await startMonitoringTestbed({ PROBE_ALLOW_CIDRS: '127.0.0.0/8' });
  owner = await signUp(bed.t);
});
afterAll(() => bed.close());

const call = (
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
  token = owner.accessToken,
) => bed.t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

describe('webhook endpoints', () => {
  it('should create an endpoint with a one-time secret and manage it', async () => {
    const created = await call('POST', '/v1/webhooks', {
      format: 'standard',
      target: 'http://127.0.0.90:8080/hooks/secret-path?token=abc',
      events: ['finding.opened'],
      description: 'on-call',
    });
    expect(created.statusCode, created.body).toBe(201);
    const { endpoint, secret } = created.json();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    // The path and query may be credentials: never shown again.
    expect(endpoint.target).toBe('http://127.0.0.90:8080');
    expect(JSON.stringify((await call('GET', '/v1/webhooks')).json())).not.toContain('secret-path');

    const row = await withTenant(bed.t.container.db, decodeId('ten', owner.tenantId)!, (tx) =>
      tx.select().from(schema.webhookEndpoints),
    );
    expect(row[0]!.targetCiphertext).not.toContain('127.0.0.90');
    expect(row[0]!.secretCiphertext).not.toContain(secret.slice(6, 20));

    const shown = await call('GET', `/v1/webhooks/${endpoint.id}`);
    expect(shown.json()).toMatchObject({ id: endpoint.id, events: ['finding.opened'], enabled: true });
    // The report mailbox alerts (docs/reports.md "IMAP intake") are subscribed to like any type.
    const mailboxAlerts = ['report_mailbox.failing', 'report_mailbox.recovered'];
    const subscribed = await call('PATCH', `/v1/webhooks/${endpoint.id}`, { events: mailboxAlerts });
    expect(subscribed.json()).toMatchObject({ events: mailboxAlerts });
    const listed = await call('GET', '/v1/events?type=report_mailbox.failing');
    expect(listed.statusCode, listed.body).toBe(200);
    const patched = await call('PATCH', `/v1/webhooks/${endpoint.id}`, { events: [], enabled: false });
    expect(patched.json()).toMatchObject({ events: [], enabled: false, disabledReason: 'disabled_by_user' });
    const rotated = await call('POST', `/v1/webhooks/${endpoint.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().secret).not.toBe(secret);

    // A test event becomes a delivery handed to the worker's queue.
    await call('PATCH', `/v1/webhooks/${endpoint.id}`, { enabled: true });
    const test = await call('POST', `/v1/webhooks/${endpoint.id}/test`);
    expect(test.statusCode, test.body).toBe(202);
    const queue = new Queue(queueNames.webhooks, {
      connection: bed.t.container.redis,
      prefix: bed.t.config.QUEUE_PREFIX,
    });
    const jobs = await queue.getJobs(['waiting', 'delayed', 'active']);
    expect(
      jobs.some((j) => j.name === 'deliver' && j.data.deliveryId === decodeId('dlv', test.json().deliveryId)),
    ).toBe(true);
    await queue.obliterate({ force: true });
    await queue.close();
    const deliveries = await call('GET', `/v1/webhooks/${endpoint.id}/deliveries`);
    expect(deliveries.json().items[0]).toMatchObject({ state: 'pending', attemptCount: 0 });

    expect((await call('DELETE', `/v1/webhooks/${endpoint.id}`)).statusCode).toBe(204);
    expectProblem(await call('GET', `/v1/webhooks/${endpoint.id}`), 404, 'not_found');
  });

  it('should refuse targets that are not public or not https, without dialling them', async () => {
    for (const target of [
      'https://10.0.0.1/hook',
      'https://169.254.169.254/latest',
      'https://[::1]/x',
      'ftp://a.test/x',
    ]) {
      const res = await call('POST', '/v1/webhooks', { format: 'standard', target });
      expect(res.statusCode, `${target}: ${res.body}`).toBe(400);
      expect(['webhook_target_refused', 'validation_failed']).toContain(res.json().code);
    }
    expectProblem(
      await call('POST', '/v1/webhooks', { format: 'email', target: 'a@b.test' }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call('POST', '/v1/webhooks', { format: 'standard', target: 'https://a.test', extra: 1 }),
      400,
      'validation_failed',
    );
  });

  it('should keep members out of endpoint management and other tenants out entirely', async () => {
    const created = await call('POST', '/v1/webhooks', {
      format: 'slack',
      target: 'http://127.0.0.91:9/services/T/B/X',
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().secret).toEqual(expect.any(String));
    const id = created.json().endpoint.id;

    const memberEmail = uniqueEmail('member');
    const added = await addMember(bed.t, owner, memberEmail, 'member');
    const member = await signIn(bed.t, memberEmail, added.password, owner.tenantId);
    expect((await call('GET', '/v1/webhooks', undefined, member.accessToken)).statusCode).toBe(200);
    expectProblem(
      await call('DELETE', `/v1/webhooks/${id}`, undefined, member.accessToken),
      403,
      'forbidden',
    );

    const stranger = await signUp(bed.t);
    for (const [method, url] of [
      ['GET', `/v1/webhooks/${id}`],
      ['PATCH', `/v1/webhooks/${id}`],
      ['DELETE', `/v1/webhooks/${id}`],
      ['POST', `/v1/webhooks/${id}/test`],
      ['POST', `/v1/webhooks/${id}/rotate-secret`],
      ['GET', `/v1/webhooks/${id}/deliveries`],
    ] as const) {
      const res = await call(
        method,
        url,
        method === 'PATCH' ? { description: 'x' } : undefined,
        stranger.accessToken,
      );
      expectProblem(res, 404, 'not_found');
    }
    expect((await call('GET', '/v1/webhooks', undefined, stranger.accessToken)).json()).toEqual([]);
  });
});
