/**
 * A loopback OAuth 2.0 provider for the IMAP OAuth tests, standing in for Microsoft Entra or
 * Google: an HTTPS token endpoint (certificate from the test CA) that answers the refresh-token
 * grant (RFC 6749 §6) as those providers do, and a plain-HTTP RFC 7662 introspection endpoint that
 * the test Dovecot (`startDovecot({ oauth2 })`) asks whether a bearer token is good. Tokens are
 * random, held in memory, and tied to one user, so a token issued for one user never opens
 * another's mailbox.
 *
 * It records every token request (the form fields as sent, for "the secret went to the endpoint
 * and nowhere else" assertions) and can be told to rotate refresh tokens, to expire access tokens
 * early, or to answer a request with anything a test needs (a 503, an error that echoes a token).
 */
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestCa, issueCert, type TestCa } from '../tls/index.ts';

export interface OAuthClient {
  clientId: string;
  /** Omitted: a public client (RFC 6749 §2.1), authenticated by its id alone. */
  clientSecret?: string;
}

export interface OAuthTokenRequest {
  /** The form fields as received (secrets included: the test asserts where they went). */
  form: Record<string, string>;
  contentType: string | undefined;
  /** The SNI name the client sent. */
  servername: string | undefined;
  /** What the endpoint answered. */
  status: number;
}

export interface OAuthOverride {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface StartOAuthProviderOptions {
  /** Loopback address of both endpoints. Default 127.0.0.1. */
  host?: string;
  /** Names in the token endpoint's certificate. Default: `login.oauth.test` and the host. */
  certNames?: string[];
  ca?: TestCa;
  /** Registered clients. Default: one confidential client. */
  clients?: OAuthClient[];
}

export interface TestOAuthProvider {
  host: string;
  /** `https://<host>:<port>/token`. */
  tokenUrl: string;
  tokenPort: number;
  /** `http://<host>:<port>/introspect`, for `startDovecot({ oauth2: { introspectionUrl } })`. */
  introspectionUrl: string;
  ca: TestCa;
  /** The first registered client. */
  client: OAuthClient;
  /** Every request to the token endpoint, in order. */
  tokenRequests: OAuthTokenRequest[];
  /** Every access token issued, in order (for "never logged" assertions). */
  accessTokensIssued: string[];
  /** Introspections Dovecot made, with the answer's `active`. */
  introspections: { active: boolean }[];
  /** A new refresh token for `user` and `clientId` (the consent a tenant gives in the browser). */
  grant(user: string, options?: { clientId?: string; scope?: string }): string;
  /** The refresh token is revoked: the next refresh gets `invalid_grant`. */
  revoke(refreshToken: string): void;
  /** Every access token issued so far stops being active (a password change, a revocation). */
  revokeAccessTokens(): void;
  /** Answer every refresh with a new refresh token and invalidate the one used (RFC 6749 §6). */
  rotate: boolean;
  /** `expires_in` of new access tokens, seconds; undefined leaves the field out. Default 3600. */
  expiresIn: number | undefined;
  /**
   * Called with each token request before the endpoint does its work: an answer is sent instead
   * (the request is recorded); undefined (after the promise, if any) lets the endpoint go on.
   */
  override:
    | ((form: Record<string, string>) => OAuthOverride | undefined | Promise<OAuthOverride | undefined>)
    | undefined;
  /** TCP connections the token endpoint accepted (counted before TLS), for "never dialled" proofs. */
  connections(): number;
  /** The refresh tokens currently valid. */
  liveRefreshTokens(): string[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(new Error('body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  // RFC 6749 §5.1: token responses are never cached.
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
    .end(JSON.stringify(body));
}

const token = (prefix: string) => `${prefix}-${randomBytes(24).toString('base64url')}`;

async function listen(server: http.Server | https.Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startOAuthProvider(
  options: StartOAuthProviderOptions = {},
): Promise<TestOAuthProvider> {
  const host = options.host ?? '127.0.0.1';
  const ca = options.ca ?? (await createTestCa());
  const cert = await issueCert(ca, { names: options.certNames ?? ['login.oauth.test', host] });
  const clients = options.clients ?? [
    { clientId: `client-${randomBytes(6).toString('hex')}`, clientSecret: token('cs') },
  ];
  const refreshTokens = new Map<string, { user: string; clientId: string; scope: string }>();
  const accessTokens = new Map<string, { user: string; expiresAt: number }>();
  const tokenRequests: OAuthTokenRequest[] = [];
  const introspections: { active: boolean }[] = [];
  let connections = 0;

  const provider: TestOAuthProvider = {
    host,
    tokenUrl: '',
    tokenPort: 0,
    introspectionUrl: '',
    ca,
    client: clients[0]!,
    tokenRequests,
    accessTokensIssued: [],
    introspections,
    rotate: false,
    expiresIn: 3600,
    override: undefined,
    grant(user, grantOptions = {}) {
      const refresh = token('rt');
      refreshTokens.set(refresh, {
        user,
        clientId: grantOptions.clientId ?? clients[0]!.clientId,
        scope: grantOptions.scope ?? 'https://mail.test/imap',
      });
      return refresh;
    },
    revoke(refreshToken) {
      refreshTokens.delete(refreshToken);
    },
    revokeAccessTokens() {
      accessTokens.clear();
    },
    liveRefreshTokens: () => [...refreshTokens.keys()],
    connections: () => connections,
    close: async () => {},
  };

  /** RFC 6749 §6 and §5: the refresh-token grant, with the provider's error codes. */
  function exchange(
    form: Record<string, string>,
    basic: string | undefined,
  ): { status: number; body: object } {
    const error = (status: number, code: string, description: string) => ({
      status,
      body: { error: code, error_description: description },
    });
    if (form.grant_type !== 'refresh_token')
      return error(400, 'unsupported_grant_type', `grant_type ${form.grant_type ?? '(none)'}`);
    // Client authentication (RFC 6749 §2.3.1): the body, or HTTP Basic.
    let clientId = form.client_id;
    let clientSecret = form.client_secret;
    if (basic) {
      const [id, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id ?? '');
      clientSecret = decodeURIComponent(secret ?? '');
    }
    const client = clients.find((c) => c.clientId === clientId);
    if (!client) return error(401, 'invalid_client', 'unknown client');
    if (client.clientSecret !== undefined && client.clientSecret !== clientSecret)
      return error(401, 'invalid_client', 'client authentication failed');
    const refresh = form.refresh_token ?? '';
    const held = refreshTokens.get(refresh);
    if (!held || held.clientId !== client.clientId)
      return error(400, 'invalid_grant', 'the refresh token is invalid, expired or revoked');
    const access = token('at');
    provider.accessTokensIssued.push(access);
    const expiresIn = provider.expiresIn;
    accessTokens.set(access, {
      user: held.user,
      expiresAt: Date.now() + (expiresIn ?? 3600) * 1_000,
    });
    let rotated: string | undefined;
    if (provider.rotate) {
      refreshTokens.delete(refresh);
      rotated = token('rt');
      refreshTokens.set(rotated, held);
    }
    return {
      status: 200,
      body: {
        access_token: access,
        token_type: 'Bearer',
        ...(expiresIn !== undefined ? { expires_in: expiresIn } : {}),
        scope: form.scope ?? held.scope,
        ...(rotated ? { refresh_token: rotated } : {}),
      },
    };
  }

  const tokenServer = https.createServer({ cert: cert.chainPem, key: cert.keyPem }, async (req, res) => {
    let raw = '';
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    const contentType = req.headers['content-type'];
    const form = Object.fromEntries(new URLSearchParams(raw));
    const record = (status: number) =>
      tokenRequests.push({
        form,
        contentType,
        servername: (req.socket as import('node:tls').TLSSocket).servername || undefined,
        status,
      });
    if (req.method !== 'POST' || req.url !== '/token') {
      record(404);
      return json(res, 404, { error: 'not_found' });
    }
    const override = await provider.override?.(form);
    if (override) {
      record(override.status);
      res
        .writeHead(override.status, { 'content-type': 'application/json', ...override.headers })
        .end(override.body);
      return;
    }
    if (!contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      record(400);
      return json(res, 400, { error: 'invalid_request', error_description: 'form body expected' });
    }
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const answer = exchange(form, basic);
    record(answer.status);
    json(res, answer.status, answer.body);
  });

  tokenServer.on('connection', () => {
    connections++;
  });
  // Clients that give up mid-handshake (an untrusted certificate) must not crash the test process.
  tokenServer.on('tlsClientError', () => {});

  // RFC 7662 §2: `token=<bearer>` in, `{active, username}` out. Dovecot is the only client.
  const introspectionServer = http.createServer(async (req, res) => {
    let raw = '';
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    const bearer = new URLSearchParams(raw).get('token') ?? '';
    const held = accessTokens.get(bearer);
    const active = held !== undefined && held.expiresAt > Date.now();
    introspections.push({ active });
    json(res, 200, active ? { active: true, username: held.user } : { active: false });
  });

  provider.tokenPort = await listen(tokenServer, host);
  const introspectionPort = await listen(introspectionServer, host);
  provider.tokenUrl = `https://${host}:${provider.tokenPort}/token`;
  provider.introspectionUrl = `http://${host}:${introspectionPort}/introspect`;
  provider.close = async () => {
    for (const server of [tokenServer, introspectionServer]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  };
  return provider;
}
