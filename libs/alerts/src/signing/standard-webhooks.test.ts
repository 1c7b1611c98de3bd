/**
 * Our signatures against the reference verifier (`standardwebhooks`, the `Webhook` class that
 * receivers use) and the spec's published test vector.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  activeSecrets,
  generateWebhookSecret,
  parseWebhookSecret,
  signWebhook,
  verifyWebhook,
  webhookSignatureHeaders,
} from './standard-webhooks.ts';

// The Standard Webhooks specification's example (spec/standard-webhooks.md, "Signature scheme").
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const body = JSON.stringify({
  type: 'webhook.test',
  timestamp: '2026-01-01T00:00:00.000Z',
  data: { é: '✓' },
});

describe('signWebhook', () => {
  it('should reproduce the specification test vector', () => {
    expect(
      signWebhook({ id: SPEC.id, timestamp: SPEC.timestamp, body: SPEC.body, secrets: [SPEC.secret] }),
    ).toBe(SPEC.signature);
  });

  it('should produce headers the standardwebhooks Webhook class verifies', () => {
    const secret = generateWebhookSecret();
    const headers = webhookSignatureHeaders({
      id: 'evt_test1',
      timestamp: new Date(),
      body,
      secrets: [secret],
    });
    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    // The same bytes as a Buffer, as a receiver reading the raw request body has them.
    expect(new Webhook(secret).verify(Buffer.from(body), { ...headers })).toEqual(JSON.parse(body));
  });

  it('should sign once per active secret during rotation, so either secret verifies', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const secrets = activeSecrets({
      current: newSecret,
      previous: oldSecret,
      previousValidUntil: new Date(Date.now() + 60_000),
      now: new Date(),
    });
    expect(secrets).toEqual([newSecret, oldSecret]);
    const headers = webhookSignatureHeaders({ id: 'evt_rot', timestamp: new Date(), body, secrets });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, { ...headers })).toThrow(
      'No matching signature found',
    );
  });

  it('should drop the previous secret once its grace period is over', () => {
    const now = new Date('2026-03-01T00:00:00Z');
    expect(
      activeSecrets({
        current: 'whsec_a',
        previous: 'whsec_b',
        previousValidUntil: new Date(now.getTime()),
        now,
      }),
    ).toEqual(['whsec_a']);
    expect(activeSecrets({ current: 'whsec_a', previous: null, now })).toEqual(['whsec_a']);
  });

  it('should refuse bad ids, no secrets, too many secrets and malformed secrets', () => {
    const s = generateWebhookSecret();
    expect(() => signWebhook({ id: 'a.b', timestamp: 1, body, secrets: [s] })).toThrow();
    expect(() => signWebhook({ id: 'ok', timestamp: 1, body, secrets: [] })).toThrow();
    const four = [1, 2, 3, 4].map(() => generateWebhookSecret());
    expect(() => signWebhook({ id: 'ok', timestamp: 1, body, secrets: four })).toThrow();
    expect(() => signWebhook({ id: 'ok', timestamp: 1, body, secrets: ['whsec_short'] })).toThrow();
  });
});

describe('negative verification with the standardwebhooks package', () => {
  const secret = generateWebhookSecret();

  it('should reject a tampered body', () => {
    const headers = webhookSignatureHeaders({ id: 'evt_x', timestamp: new Date(), body, secrets: [secret] });
    const tampered = body.replace('webhook.test', 'finding.opened');
    expect(() => new Webhook(secret).verify(tampered, { ...headers })).toThrow('No matching signature found');
    expect(verifyWebhook({ body: tampered, headers: { ...headers }, secrets: [secret] })).toEqual({
      ok: false,
      reason: 'no_matching_signature',
    });
  });

  it('should reject a tampered id (the id is signed too)', () => {
    const headers = webhookSignatureHeaders({ id: 'evt_x', timestamp: new Date(), body, secrets: [secret] });
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_y' })).toThrow();
  });

  it('should reject an old timestamp, even with a valid signature for it', () => {
    const old = new Date(Date.now() - 10 * 60_000);
    const headers = webhookSignatureHeaders({ id: 'evt_old', timestamp: old, body, secrets: [secret] });
    expect(() => new Webhook(secret).verify(body, { ...headers })).toThrow('Message timestamp too old');
    expect(verifyWebhook({ body, headers: { ...headers }, secrets: [secret] })).toEqual({
      ok: false,
      reason: 'timestamp_too_old',
    });
    // A fresh timestamp pasted onto the old signature does not verify either.
    const replayed = { ...headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) };
    expect(() => new Webhook(secret).verify(body, replayed)).toThrow('No matching signature found');
  });
});

describe('verifyWebhook', () => {
  it('should accept what standardwebhooks signs, with any one of several secrets', () => {
    const secret = generateWebhookSecret();
    const ts = new Date();
    const signature = new Webhook(secret).sign('evt_ref', ts, body);
    const headers = {
      'Webhook-Id': 'evt_ref',
      'Webhook-Timestamp': String(Math.floor(ts.getTime() / 1000)),
      'Webhook-Signature': `v1a,ignored ${signature}`,
    };
    expect(verifyWebhook({ body, headers, secrets: [generateWebhookSecret(), secret] })).toEqual({
      ok: true,
    });
    expect(verifyWebhook({ body, headers: {}, secrets: [secret] })).toEqual({
      ok: false,
      reason: 'missing_headers',
    });
    expect(
      verifyWebhook({ body, headers: { ...headers, 'Webhook-Timestamp': '12x' }, secrets: [secret] }),
    ).toEqual({ ok: false, reason: 'invalid_timestamp' });
    expect(
      verifyWebhook({ body, headers, secrets: [secret], now: new Date(ts.getTime() - 3_600_000) }),
    ).toEqual({
      ok: false,
      reason: 'timestamp_too_new',
    });
  });
});

describe('secrets', () => {
  it('should generate whsec_ secrets of 32 random bytes that the reference class accepts', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const parsed = parseWebhookSecret(a);
    expect(parsed.ok && parsed.key.length).toBe(32);
    expect(() => new Webhook(a)).not.toThrow();
  });

  it('should refuse secrets outside the spec', () => {
    expect(parseWebhookSecret('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toMatchObject({ ok: false });
    expect(parseWebhookSecret('whsec_not base64!')).toMatchObject({ ok: false });
    expect(parseWebhookSecret(`whsec_${Buffer.alloc(16).toString('base64')}`)).toMatchObject({ ok: false });
    expect(parseWebhookSecret(`whsec_${Buffer.alloc(65).toString('base64')}`)).toMatchObject({ ok: false });
    expect(parseWebhookSecret(SPEC.secret)).toMatchObject({ ok: true });
    expect(() => generateWebhookSecret(8)).toThrow();
  });
});
