/**
 * Findings, runs, posture history, events and maintenance windows over REST. The data is real: the
 * dns family runs against the loopback DNS server through libs/monitoring's runCheckJob (the
 * worker's code), and the API reads what it recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, type SignedUp, signUp } from './auth-helpers.ts';
import {
  addDomain,
  type MonitoringTestbed,
  runDnsFamily,
  serveDomain,
  startMonitoringTestbed,
  uniqueApex,
} from './monitoring-helpers.ts';

let bed: MonitoringTestbed;
let owner: SignedUp;
let domainId: string;
let apex: string;
beforeAll(async () => {
  bed = await startMonitoringTestbed();
  owner = await signUp(bed.t);
  apex = uniqueApex('findings');
  serveDomain(bed.dns, apex, 'v=DMARC1; p=none');
  domainId = (await addDomain(bed.t, owner.accessToken, apex)).id;
  await runDnsFamily(bed, owner.tenantId, domainId);
});
afterAll(() => bed.close());

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, token = owner.accessToken) =>
  bed.t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

interface Finding {
  id: string;
  code: string;
  severity: string;
  state: string;
  domainId: string;
}

async function dmarcFinding(): Promise<Finding> {
  const list = (await call('GET', `/v1/findings?domainId=${domainId}&code=dmarc.policy_none`)).json();
  expect(list.items).toHaveLength(1);
  return list.items[0];
}

describe('findings', () => {
  it('should list what the run found, with filters and a cursor, and show one', async () => {
    const all = (await call('GET', `/v1/findings?domainId=${domainId}&limit=200`)).json();
    expect(all.items.length).toBeGreaterThan(0);
    const policy = await dmarcFinding();
    expect(policy).toMatchObject({ domainId, state: 'open', mutedUntil: null, acknowledgedAt: null });
    const shown = (await call('GET', `/v1/findings/${policy.id}`)).json();
    expect(shown).toMatchObject({ id: policy.id, code: 'dmarc.policy_none', family: 'dns', check: 'dmarc' });
    expect(typeof shown.evidence).toBe('object');

    const open = (await call('GET', `/v1/findings?domainId=${domainId}&state=open&limit=200`)).json();
    expect(open.items.every((f: Finding) => f.state === 'open')).toBe(true);
    expect((await call('GET', `/v1/findings?domainId=${domainId}&state=resolved`)).json().items).toEqual([]);
    const high = (await call('GET', `/v1/findings?domainId=${domainId}&minSeverity=high&limit=200`)).json();
    const rank = ['info', 'low', 'medium', 'high', 'critical'];
    expect(high.items.every((f: Finding) => rank.indexOf(f.severity) >= 3)).toBe(true);
    expect(high.items.length).toBe(all.items.filter((f: Finding) => rank.indexOf(f.severity) >= 3).length);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (
        await call('GET', `/v1/findings?domainId=${domainId}&limit=1${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.items.map((f: Finding) => f.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.items.map((f: Finding) => f.id));
  });

  it('should refuse bad filters and ids with stable codes', async () => {
    expectProblem(await call('GET', '/v1/findings?minSeverity=urgent'), 400, 'validation_failed');
    expectProblem(await call('GET', '/v1/findings?state=closed'), 400, 'validation_failed');
    expectProblem(
      await call('GET', '/v1/findings?cursor=evt_00000000000000000000000000'),
      400,
      'validation_failed',
    );
    expectProblem(await call('GET', '/v1/findings?domainId=nonsense'), 404, 'not_found');
    expectProblem(await call('GET', '/v1/findings/fnd_00000000000000000000000000'), 404, 'not_found');
    expectProblem(await call('GET', '/v1/findings/not-an-id'), 404, 'not_found');
  });

  it('should mute and unmute, acknowledge and withdraw, with audit entries', async () => {
    const { id } = await dmarcFinding();
    const until = new Date(Date.now() + 86_400_000).toISOString();
    const muted = await call('POST', `/v1/findings/${id}/mute`, { until });
    expect(muted.statusCode, muted.body).toBe(200);
    expect(muted.json().mutedUntil).toBe(until);
    expect(muted.json().state).toBe('open');
    expect((await call('POST', `/v1/findings/${id}/mute`, { until: null })).json().mutedUntil).toBeNull();

    const acked = (await call('POST', `/v1/findings/${id}/acknowledge`, {})).json();
    expect(acked).toMatchObject({ acknowledgedBy: owner.userId, acknowledgedUntil: null });
    expect(acked.acknowledgedAt).toEqual(expect.any(String));
    const ackedUntil = (await call('POST', `/v1/findings/${id}/acknowledge`, { until })).json();
    expect(ackedUntil.acknowledgedUntil).toBe(until);
    const withdrawn = await call('DELETE', `/v1/findings/${id}/acknowledgement`);
    expect(withdrawn.json()).toMatchObject({
      acknowledgedAt: null,
      acknowledgedBy: null,
      acknowledgedUntil: null,
    });

    const audit = (await call('GET', '/v1/audit-events?limit=100')).json().items;
    const actions = audit.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'finding.muted',
        'finding.unmuted',
        'finding.acknowledged',
        'finding.unacknowledged',
      ]),
    );
    expect(audit.find((e: { action: string }) => e.action === 'finding.muted').target).toEqual({
      type: 'finding',
      id,
    });
  });

  it('should refuse past, malformed and missing dates and unknown fields', async () => {
    const { id } = await dmarcFinding();
    const past = new Date(Date.now() - 60_000).toISOString();
    expectProblem(await call('POST', `/v1/findings/${id}/mute`, { until: past }), 400, 'validation_failed');
    expectProblem(
      await call('POST', `/v1/findings/${id}/mute`, { until: 'tomorrow' }),
      400,
      'validation_failed',
    );
    expectProblem(await call('POST', `/v1/findings/${id}/mute`, {}), 400, 'validation_failed');
    expectProblem(
      await call('POST', `/v1/findings/${id}/acknowledge`, { until: '2026-13-45T99:00:00Z' }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call('POST', `/v1/findings/${id}/acknowledge`, { note: 'x' }),
      400,
      'validation_failed',
    );
    expect((await dmarcFinding()) as unknown as { mutedUntil: null }).toMatchObject({ mutedUntil: null });
  });

  it('should let a read key see findings but not mute them', async () => {
    const { id } = await dmarcFinding();
    const key = (await call('POST', '/v1/api-keys', { name: 'reader', scopes: ['read'] })).json().key;
    expect((await call('GET', `/v1/findings/${id}`, undefined, key)).statusCode).toBe(200);
    expectProblem(await call('POST', `/v1/findings/${id}/mute`, { until: null }, key), 403, 'forbidden');
  });
});

describe('runs, posture history and events', () => {
  it('should show the run, the posture point and the events it recorded', async () => {
    const runs = (await call('GET', `/v1/domains/${domainId}/runs`)).json();
    expect(runs.items).toHaveLength(1);
    expect(runs.items[0]).toMatchObject({ domainId, family: 'dns', outcome: 'findings' });
    expect(runs.items[0].findingCount).toBeGreaterThan(0);
    expect(runs.items[0].durationMs).toBeGreaterThanOrEqual(0);

    const posture = (await call('GET', `/v1/domains/${domainId}/posture`)).json();
    expect(posture.items).toHaveLength(1);
    expect(posture.items[0].score).toBeGreaterThanOrEqual(0);
    const domain = (await call('GET', `/v1/domains/${domainId}`)).json();
    expect(domain.posture).toEqual({ score: posture.items[0].score, grade: posture.items[0].grade });
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await call('GET', `/v1/domains/${domainId}/posture?since=${future}`)).json().items).toEqual([]);
    expectProblem(
      await call('GET', `/v1/domains/${domainId}/posture?since=yesterday`),
      400,
      'validation_failed',
    );

    const events = (await call('GET', `/v1/events?domainId=${domainId}&limit=200`)).json();
    const opened = events.items.filter((e: { type: string }) => e.type === 'finding.opened');
    expect(opened.length).toBeGreaterThan(0);
    expect(
      opened.some(
        (e: { payload: { finding: { code: string } } }) => e.payload.finding.code === 'dmarc.policy_none',
      ),
    ).toBe(true);
    const typed = (await call('GET', `/v1/events?type=finding.opened&domainId=${domainId}&limit=200`)).json();
    expect(typed.items).toHaveLength(opened.length);
    // Newest first, and the cursor walks them all.
    const ids = events.items.map((e: { id: string }) => e.id);
    expect([...ids].sort().reverse()).toEqual(ids);
    const first = (await call('GET', `/v1/events?domainId=${domainId}&limit=1`)).json();
    const second = (
      await call('GET', `/v1/events?domainId=${domainId}&limit=1&cursor=${first.nextCursor}`)
    ).json();
    expect([first.items[0].id, second.items[0]?.id]).toEqual(ids.slice(0, 2));

    expectProblem(await call('GET', '/v1/events?type=finding.exploded'), 400, 'validation_failed');
    expectProblem(await call('GET', '/v1/domains/dom_00000000000000000000000000/runs'), 404, 'not_found');
  });

  it('should record a fix as resolved and show it', async () => {
    serveDomain(bed.dns, apex, 'v=DMARC1; p=reject');
    await runDnsFamily(bed, owner.tenantId, domainId);
    const resolved = (await call('GET', `/v1/findings?domainId=${domainId}&state=resolved&limit=200`)).json();
    expect(resolved.items.map((f: Finding) => f.code)).toContain('dmarc.policy_none');
    const events = (await call('GET', `/v1/events?domainId=${domainId}&type=finding.resolved`)).json();
    expect(events.items.length).toBeGreaterThan(0);
    expect((await call('GET', `/v1/domains/${domainId}/runs`)).json().items).toHaveLength(2);
    serveDomain(bed.dns, apex, 'v=DMARC1; p=none');
  });
});

describe('maintenance windows', () => {
  it('should create, list and delete windows, refusing bad ones', async () => {
    const startsAt = new Date(Date.now() + 3_600_000).toISOString();
    const endsAt = new Date(Date.now() + 7_200_000).toISOString();
    const created = await call('POST', '/v1/maintenance-windows', {
      domainId,
      startsAt,
      endsAt,
      reason: 'MX move',
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ domainId, startsAt, endsAt, reason: 'MX move' });
    const tenantWide = (await call('POST', '/v1/maintenance-windows', { startsAt, endsAt })).json();
    expect(tenantWide.domainId).toBeNull();
    const list = (await call('GET', '/v1/maintenance-windows')).json();
    expect(list.items.map((w: { id: string }) => w.id)).toEqual(
      expect.arrayContaining([created.json().id, tenantWide.id]),
    );

    expectProblem(
      await call('POST', '/v1/maintenance-windows', { startsAt: endsAt, endsAt: startsAt }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call('POST', '/v1/maintenance-windows', {
        startsAt,
        endsAt: new Date(Date.now() + 40 * 86_400_000).toISOString(),
      }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call('POST', '/v1/maintenance-windows', { startsAt: 'now', endsAt }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call('POST', '/v1/maintenance-windows', { startsAt, endsAt, why: 'x' }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call('POST', '/v1/maintenance-windows', {
        domainId: 'dom_00000000000000000000000000',
        startsAt,
        endsAt,
      }),
      404,
      'not_found',
    );

    expect((await call('DELETE', `/v1/maintenance-windows/${tenantWide.id}`)).statusCode).toBe(204);
    expectProblem(await call('DELETE', `/v1/maintenance-windows/${tenantWide.id}`), 404, 'not_found');
    expectProblem(await call('DELETE', '/v1/maintenance-windows/mnt_bad'), 404, 'not_found');
    const actions = (await call('GET', '/v1/audit-events?limit=100'))
      .json()
      .items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['maintenance_window.created', 'maintenance_window.deleted']),
    );
  });
});
