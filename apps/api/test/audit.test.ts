import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, bearer, expectProblem, gql, signIn, signUp, uniqueEmail } from './auth-helpers.ts';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('audit log', () => {
  it('should page through events newest first with a cursor, over REST and GraphQL alike', async () => {
    const owner = await signUp(t);
    for (let i = 0; i < 7; i++) {
      await t.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: { ...bearer(owner.accessToken), 'user-agent': `pager/${i}` },
        payload: { name: `k${i}`, scopes: ['read'] },
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.app.inject({
        url: `/v1/audit-events?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        headers: bearer(owner.accessToken),
      });
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((e: { id: string }) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    // tenant.created at sign-up, then the seven keys.
    expect(seen).toHaveLength(8);
    expect([...seen].sort().reverse()).toEqual(seen);
    const first = (
      await t.app.inject({ url: '/v1/audit-events?limit=1', headers: bearer(owner.accessToken) })
    ).json().items[0];
    expect(first).toMatchObject({
      action: 'api_key.created',
      actor: { type: 'user', id: owner.userId },
      userAgent: 'pager/6',
      details: { name: 'k6', scopes: ['read'] },
    });
    expect(first.ip).toMatch(/^127\./);

    const gqlIds: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { body } = await gql(
        t,
        'query ($after: String) { auditEvents(first: 4, after: $after) { nodes { id action details } pageInfo { endCursor hasNextPage } } }',
        {
          token: owner.accessToken,
          variables: { after },
        },
      );
      const connection = body.data.auditEvents;
      gqlIds.push(...connection.nodes.map((n: { id: string }) => n.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(gqlIds).toEqual(seen);
  });

  it('should refuse a forged cursor and a limit out of range', async () => {
    const owner = await signUp(t);
    expectProblem(
      await t.app.inject({
        url: '/v1/audit-events?cursor=key_00000000000000000000000000',
        headers: bearer(owner.accessToken),
      }),
      400,
      'validation_failed',
    );
    expectProblem(
      await t.app.inject({ url: '/v1/audit-events?limit=1000', headers: bearer(owner.accessToken) }),
      400,
      'validation_failed',
    );
    expectProblem(
      await t.app.inject({ url: '/v1/audit-events?limit=5&extra=1', headers: bearer(owner.accessToken) }),
      400,
      'validation_failed',
    );
  });

  it('should be for owners and admins only', async () => {
    const owner = await signUp(t);
    const email = uniqueEmail('member');
    const { password } = await addMember(t, owner, email, 'member');
    const member = await signIn(t, email, password);
    expectProblem(
      await t.app.inject({ url: '/v1/audit-events', headers: bearer(member.accessToken) }),
      403,
      'forbidden',
    );
    const { body } = await gql(t, '{ auditEvents { nodes { id } } }', { token: member.accessToken });
    expect(body.errors[0].extensions.code).toBe('forbidden');
  });

  it('should record policy and role changes with who, what and the values', async () => {
    const owner = await signUp(t);
    const email = uniqueEmail('demoted');
    await addMember(t, owner, email, 'admin');
    const key = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: bearer(owner.accessToken),
        payload: { name: 'ops', scopes: ['admin'] },
      })
    ).json();
    const patched = await t.app.inject({
      method: 'PATCH',
      url: '/v1/tenant/settings',
      headers: bearer(key.key),
      payload: { requireMfa: true },
    });
    expect(patched.statusCode).toBe(200);
    const event = (await t.app.inject({ url: '/v1/audit-events?limit=1', headers: bearer(key.key) })).json()
      .items[0];
    expect(event).toMatchObject({
      action: 'tenant.settings_updated',
      actor: { type: 'api_key', id: key.apiKey.id },
      target: { type: 'tenant', id: owner.tenantId },
      details: { before: { requireMfa: false }, after: { requireMfa: true } },
    });
    const memberId = (await t.app.inject({ url: '/v1/members', headers: bearer(key.key) }))
      .json()
      .find((m: { email: string }) => m.email === email).id;
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/members/${memberId}`,
      headers: bearer(key.key),
      payload: { role: 'viewer' },
    });
    const roleEvent = (
      await t.app.inject({ url: '/v1/audit-events?limit=1', headers: bearer(key.key) })
    ).json().items[0];
    expect(roleEvent).toMatchObject({
      action: 'member.role_changed',
      target: { type: 'member', id: memberId },
      details: { from: 'admin', to: 'viewer' },
    });
  });
});
