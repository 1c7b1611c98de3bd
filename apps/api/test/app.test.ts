import { AppError } from '@mailwarden/core';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helper.ts';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({ CORS_ORIGINS: 'https://dash.example.com', BODY_LIMIT_BYTES: '2048' }, (app) => {
    // Routes the later issues add look like this one; it drives the shared error machinery.
    app.post(
      '/v1/echo',
      {
        schema: {
          operationId: 'createEcho',
          tags: ['system'],
          body: Type.Object(
            { name: Type.String({ minLength: 1, maxLength: 20 }), count: Type.Integer({ minimum: 1 }) },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ name: Type.String(), count: Type.Integer() }) },
        },
        config: { auth: 'public' },
      },
      async (request) => request.body,
    );
    app.get(
      '/v1/broken',
      {
        schema: { operationId: 'getBroken', tags: ['system'], response: { 200: Type.Object({}) } },
        config: { auth: 'public' },
      },
      async () => {
        throw new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2');
      },
    );
    app.get(
      '/v1/conflict',
      {
        schema: { operationId: 'getConflict', tags: ['system'], response: { 200: Type.Object({}) } },
        config: { auth: 'public' },
      },
      async () => {
        throw new AppError('conflict', { detail: 'domain "a.example" is already watched' });
      },
    );
  });
});

afterAll(() => t.close());

function expectProblem(
  res: { headers: Record<string, unknown>; json(): unknown },
  status: number,
  code: string,
) {
  expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  const body = res.json() as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: `/problems/${code}` });
  expect(typeof body.requestId).toBe('string');
  expect(typeof body.title).toBe('string');
  return body;
}

describe('API foundation', () => {
  it('should answer liveness and carry a request id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('should keep a well-formed incoming request id and replace a hostile one', async () => {
    const kept = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-abc-12345678' } });
    expect(kept.headers['x-request-id']).toBe('trace-abc-12345678');
    const replaced = await t.app.inject({
      url: '/healthz',
      headers: { 'x-request-id': 'bad id\r\ninjected' },
    });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('should be ready when Postgres and Redis answer', async () => {
    const res = await t.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('should answer a small /v1 route', async () => {
    const res = await t.app.inject({ url: '/v1/meta' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ service: 'mailwarden', version: '0.1.0', apiVersion: 'v1' });
  });

  it('should answer an unknown route with a problem', async () => {
    const res = await t.app.inject({ url: '/v1/nope?x=1' });
    expect(res.statusCode).toBe(404);
    const body = expectProblem(res, 404, 'route_not_found');
    expect(body.instance).toBe('/v1/nope');
  });

  it('should refuse malformed JSON with bad_request', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "x",',
    });
    expect(res.statusCode).toBe(400);
    expectProblem(res, 400, 'bad_request');
  });

  it('should refuse unknown fields and bad values with validation_failed and field locations', async () => {
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/v1/echo',
      payload: { name: 'x', count: 1, admin: true },
    });
    expect(unknown.statusCode).toBe(400);
    expect(expectProblem(unknown, 400, 'validation_failed').errors).toEqual([
      { location: 'body.admin', message: 'is not a known field' },
    ]);
    const missing = await t.app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'x' } });
    expect(expectProblem(missing, 400, 'validation_failed').errors).toEqual([
      expect.objectContaining({ location: 'body.count' }),
    ]);
    const good = await t.app.inject({ method: 'POST', url: '/v1/echo', payload: { name: 'x', count: 2 } });
    expect(good.json()).toEqual({ name: 'x', count: 2 });
  });

  it('should refuse an oversized body and a wrong content type', async () => {
    const big = await t.app.inject({
      method: 'POST',
      url: '/v1/echo',
      payload: { name: 'x'.repeat(5000), count: 1 },
    });
    expect(big.statusCode).toBe(413);
    expectProblem(big, 413, 'payload_too_large');
    const xml = await t.app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expect(xml.statusCode).toBe(415);
    expectProblem(xml, 415, 'unsupported_media_type');
  });

  it('should hide internals of a 500 and keep catalogue errors as they are', async () => {
    const res = await t.app.inject({ url: '/v1/broken' });
    expect(res.statusCode).toBe(500);
    const body = expectProblem(res, 500, 'internal');
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|hunter2|10\.1\.2\.3/);
    expect(body.title).toBe('Internal Server Error');

    const conflict = await t.app.inject({ url: '/v1/conflict' });
    expect(expectProblem(conflict, 409, 'conflict').detail).toBe('domain "a.example" is already watched');
  });

  it('should describe each problem type at its type URI', async () => {
    const res = await t.app.inject({ url: '/problems/not_found' });
    expect(res.json()).toEqual({ code: 'not_found', status: 404, title: 'The resource does not exist' });
    expect((await t.app.inject({ url: '/problems/nonsense' })).statusCode).toBe(404);
  });

  it('should send security headers and CORS only to listed origins', async () => {
    const res = await t.app.inject({ url: '/v1/meta', headers: { origin: 'https://dash.example.com' } });
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['access-control-allow-origin']).toBe('https://dash.example.com');
    const other = await t.app.inject({ url: '/v1/meta', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('should expose Prometheus metrics labelled by route pattern', async () => {
    await t.app.inject({ url: '/v1/meta' });
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(
      /mailwarden_http_request_duration_seconds_count\{method="GET",route="\/v1\/meta",status_code="200"\} \d+/,
    );
    expect(res.body).toContain('process_cpu_seconds_total');
  });

  it('should serve the OpenAPI document and Swagger UI', async () => {
    const doc = (await t.app.inject({ url: '/docs/json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/v1/meta'].get.operationId).toBe('getMeta');
    const ui = await t.app.inject({ url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
  });
});

describe('route conventions', () => {
  it('should refuse to start with a /v1 route lacking operationId, tags, auth or a response schema', async () => {
    await expect(
      buildTestApp({}, (app) => {
        app.get('/v1/sloppy', async () => ({}));
      }),
    ).rejects.toThrow(
      /route GET \/v1\/sloppy lacks schema.operationId, schema.tags, config.auth, a 2xx response schema/,
    );
  });
});

describe('rate limits', () => {
  it('should answer 429 problem+json with Retry-After past the limit', async () => {
    const limited = await buildTestApp({ RATE_LIMIT_PER_MINUTE: '2' });
    try {
      const statuses: number[] = [];
      let last: Awaited<ReturnType<typeof limited.app.inject>> | undefined;
      for (let i = 0; i < 3; i++) {
        last = await limited.app.inject({ url: '/v1/meta' });
        statuses.push(last.statusCode);
      }
      expect(statuses).toEqual([200, 200, 429]);
      const body = expectProblem(last!, 429, 'rate_limited');
      expect(body.retryAfterSeconds).toBeGreaterThan(0);
      expect(last!.headers['retry-after']).toBeDefined();
      // Health checks are never rate limited: orchestrators poll them.
      expect((await limited.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('readiness', () => {
  it('should answer 503 naming the dependency that is down', async () => {
    const down = await buildTestApp({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    try {
      const res = await down.app.inject({ url: '/readyz' });
      expect(res.statusCode).toBe(503);
      const body = expectProblem(res, 503, 'service_unavailable');
      expect(body.checks).toEqual({ postgres: 'error', redis: 'ok' });
      expect(JSON.stringify(body)).not.toContain('nobody');
    } finally {
      await down.close();
    }
  });
});

describe('security headers', () => {
  it('should send the full helmet set on every response, errors included', async () => {
    for (const url of ['/v1/meta', '/v1/nope']) {
      const res = await t.app.inject({ url });
      expect(res.headers['content-security-policy']).toBe(
        "default-src 'none';frame-ancestors 'none';base-uri 'none'",
      );
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['cross-origin-resource-policy']).toBe('same-site');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });
});
