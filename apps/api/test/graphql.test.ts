import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ GRAPHQL_MAX_DEPTH: '4' });
});
afterAll(() => t.close());

async function gql(app: TestApp, query: string) {
  const res = await app.app.inject({ method: 'POST', url: '/graphql', payload: { query } });
  return { status: res.statusCode, body: res.json() };
}

describe('GraphQL', () => {
  it('should answer a query from the SDL', async () => {
    const { status, body } = await gql(t, '{ meta { service version apiVersion } }');
    expect(status).toBe(200);
    expect(body).toEqual({ data: { meta: { service: 'mailwarden', version: '0.1.0', apiVersion: 'v1' } } });
  });

  it('should list the same error codes REST uses', async () => {
    const { body } = await gql(t, '{ errorCodes { code status } }');
    expect(body.data.errorCodes).toContainEqual({ code: 'not_found', status: 404 });
  });

  it('should give a syntax error the bad_request code', async () => {
    const { status, body } = await gql(t, '{ meta { ');
    expect(status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('bad_request');
    expect(body.errors[0].extensions.requestId).toEqual(expect.any(String));
  });

  it('should give an unknown field the validation_failed code', async () => {
    const { status, body } = await gql(t, '{ meta { secretField } }');
    expect(status).toBe(400);
    expect(body.errors[0]).toMatchObject({ extensions: { code: 'validation_failed' } });
    expect(body.errors[0].message).toContain('secretField');
  });

  it('should refuse a query deeper than the limit with query_too_complex', async () => {
    const { status, body } = await gql(t, '{ __schema { types { fields { type { ofType { name } } } } } }');
    expect(status).toBe(400);
    expect(body.data).toBeNull();
    expect(body.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toContain(
      'query_too_complex',
    );
  });

  it('should refuse batched queries', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/graphql',
      payload: [{ query: '{ meta { service } }' }, { query: '{ meta { version } }' }],
    });
    expect(res.statusCode).toBe(400);
  });

  it('should serve GraphiQL and introspection outside production', async () => {
    const page = await t.app.inject({ url: '/graphiql' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain(
      "script-src 'self' 'unsafe-inline' https://unpkg.com",
    );
    const { body } = await gql(t, '{ __schema { queryType { name } } }');
    expect(body.data.__schema.queryType.name).toBe('Query');
  });
});

describe('GraphQL in production', () => {
  it('should have no GraphiQL and refuse introspection', async () => {
    const prod = await buildTestApp({
      MAILWARDEN_ENV: 'production',
      PUBLIC_BASE_URL: 'https://api.example.com',
      MIGRATION_DATABASE_URL: 'postgres://owner@127.0.0.1/x',
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    try {
      expect((await prod.app.inject({ url: '/graphiql' })).statusCode).toBe(404);
      const { status, body } = await gql(prod, '{ __schema { queryType { name } } }');
      expect(status).toBe(400);
      expect(body.errors[0].extensions.code).toBe('validation_failed');
      expect((await gql(prod, '{ meta { service } }')).body.data.meta.service).toBe('mailwarden');
    } finally {
      await prod.close();
    }
  });
});
