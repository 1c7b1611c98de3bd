import { type TSchema, Type } from 'typebox';

/**
 * Schemas of the IMAP report mailbox routes (issue 6 §1c; docs/reports.md "IMAP intake"). They
 * mirror libs/monitoring's `ReportMailboxView`. The password, the OAuth client secret and the
 * refresh token are write-only: they appear in request bodies and never in a response
 * (`hasPassword`, `hasClientSecret`, `hasRefreshToken` say one is set). Which fields a login kind
 * needs is checked by the service (a `validation_failed` naming the field).
 */
const closed = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });

const Security = Type.Union([Type.Literal('tls'), Type.Literal('starttls')], {
  description: '`tls`: implicit TLS (port 993); `starttls`: STARTTLS required (port 143). Never plaintext.',
});
const AfterStore = Type.Union([Type.Literal('move'), Type.Literal('flag')], {
  description:
    'After a message is stored: `move` it to `moveTo` (created when missing), or `flag` it \\Seen and `$MailwardenStored` and leave it',
});
const Host = Type.String({
  minLength: 1,
  maxLength: 253,
  description: 'Host name or IP address; it must resolve to public addresses only',
  examples: ['imap.example.com'],
});
const Port = Type.Integer({
  minimum: 1,
  maximum: 65_535,
  description: 'Default: 993 for tls, 143 for starttls',
});
const Username = Type.String({ minLength: 1, maxLength: 320, examples: ['dmarc-reports@example.com'] });
const Password = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: '`auth: password` (required there). Write-only: stored encrypted, never returned',
});
const Auth = Type.Union([Type.Literal('password'), Type.Literal('oauth2')], {
  description:
    '`password` (the default): LOGIN or SASL PLAIN with `password`. `oauth2`: SASL OAUTHBEARER (RFC 7628) or XOAUTH2 with an access token the worker gets from `tokenUrl` with `refreshToken` (RFC 6749 §6); needs `tokenUrl`, `clientId` and `refreshToken`. For Microsoft 365 and Google Workspace; see docs/reports.md "IMAP intake"',
});
const TokenUrl = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    "`auth: oauth2`: the provider's OAuth 2.0 token endpoint, https only; its host must resolve to public addresses only",
  examples: [
    'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
    'https://oauth2.googleapis.com/token',
  ],
});
const ClientId = Type.String({
  minLength: 1,
  maxLength: 512,
  description: '`auth: oauth2`: the application (client) id registered with the provider',
});
const clientSecretText =
  '`auth: oauth2`: the client secret; leave it out for a public client. Write-only: stored encrypted, never returned';
const ClientSecret = Type.String({ minLength: 1, maxLength: 1024, description: clientSecretText });
const RefreshToken = Type.String({
  minLength: 1,
  maxLength: 16_384,
  description:
    "`auth: oauth2`: a refresh token the mailbox's user granted the client (with offline access). Write-only: stored encrypted, never returned; replaced when the provider rotates it",
});
const scopeText = '`auth: oauth2`: space-separated scopes sent with each refresh; left out, none are sent';
const Scope = Type.String({
  maxLength: 1024,
  description: scopeText,
  examples: [
    'https://outlook.office365.com/IMAP.AccessAsUser.All offline_access',
    'https://mail.google.com/',
  ],
});
const Folder = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Folder path with `/` between levels',
  examples: ['INBOX'],
});
const Description = Type.String({ maxLength: 500 });

export const ReportMailboxIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, examples: ['mbx_01jf8m3k2x9q7v5t4r6w8y0zab'] }) },
  closed,
);

export const ReportMailboxCreate = Type.Object(
  {
    host: Host,
    port: Type.Optional(Port),
    security: Security,
    username: Username,
    auth: Type.Optional({ ...Auth, default: 'password' }),
    password: Type.Optional(Password),
    tokenUrl: Type.Optional(TokenUrl),
    clientId: Type.Optional(ClientId),
    clientSecret: Type.Optional(ClientSecret),
    refreshToken: Type.Optional(RefreshToken),
    scope: Type.Optional(Scope),
    folder: Type.Optional({ ...Folder, default: 'INBOX' }),
    afterStore: Type.Optional(AfterStore),
    moveTo: Type.Optional({ ...Folder, examples: ['Mailwarden/Processed'] }),
    enabled: Type.Optional(Type.Boolean()),
    description: Type.Optional(Description),
  },
  closed,
);

export const ReportMailboxPatch = Type.Object(
  {
    host: Type.Optional(Host),
    port: Type.Optional(Port),
    security: Type.Optional(Security),
    username: Type.Optional(Username),
    auth: Type.Optional(Auth),
    password: Type.Optional(Password),
    tokenUrl: Type.Optional(TokenUrl),
    clientId: Type.Optional(ClientId),
    clientSecret: Type.Optional(
      Type.Union([ClientSecret, Type.Null()], { description: `${clientSecretText}; null removes it` }),
    ),
    refreshToken: Type.Optional(RefreshToken),
    scope: Type.Optional(
      Type.Union([Scope, Type.Null()], { description: `${scopeText}; null removes them` }),
    ),
    folder: Type.Optional(Folder),
    afterStore: Type.Optional(AfterStore),
    moveTo: Type.Optional(Folder),
    enabled: Type.Optional(Type.Boolean()),
    description: Type.Optional(Description),
  },
  { ...closed, minProperties: 1 },
);

export const ReportMailbox = Type.Object(
  {
    id: Type.String({ examples: ['mbx_01jf8m3k2x9q7v5t4r6w8y0zab'] }),
    host: Type.String(),
    port: Type.Integer(),
    security: Security,
    username: Type.String(),
    auth: Auth,
    hasPassword: Type.Boolean({ description: 'A password is set (`auth: password`; it is never returned)' }),
    tokenUrl: Nullable(Type.String({ description: '`auth: oauth2`: the token endpoint; null otherwise' })),
    clientId: Nullable(Type.String({ description: '`auth: oauth2`: the client id; null otherwise' })),
    scope: Nullable(
      Type.String({ description: '`auth: oauth2`: the scopes sent with each refresh, or null' }),
    ),
    hasClientSecret: Type.Boolean({
      description: 'A client secret is set (`auth: oauth2`, not a public client; it is never returned)',
    }),
    hasRefreshToken: Type.Boolean({
      description: 'A refresh token is set (`auth: oauth2`; it is never returned)',
    }),
    folder: Type.String(),
    afterStore: AfterStore,
    moveTo: Type.String(),
    enabled: Type.Boolean(),
    description: Type.String(),
    status: Type.Union(
      ['disabled', 'pending', 'ok', 'retrying', 'failing'].map((s) => Type.Literal(s)),
      {
        description:
          '`pending`: not polled yet; `ok`: the last poll worked; `retrying`: the last polls failed; `failing`: 5 or more in a row',
      },
    ),
    lastPolledAt: Nullable(DateTime),
    lastSuccessAt: Nullable(DateTime),
    lastError: Nullable(
      Type.Object(
        {
          code: Type.String({ description: 'A stable `imap.*` code (docs/reports.md "IMAP intake")' }),
          detail: Nullable(Type.String()),
        },
        closed,
      ),
    ),
    consecutiveFailures: Type.Integer({ minimum: 0 }),
    lastStoredCount: Type.Integer({ minimum: 0, description: 'Messages stored by the last poll' }),
    lastSkippedCount: Type.Integer({
      minimum: 0,
      description: 'Messages left in the mailbox by the last poll for being too large',
    }),
    nextPollAt: Nullable(DateTime),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  closed,
);

export const PollRequested = Type.Object(
  { id: Type.String({ description: 'The mailbox; its `lastPolledAt` and `lastError` show the outcome' }) },
  closed,
);
