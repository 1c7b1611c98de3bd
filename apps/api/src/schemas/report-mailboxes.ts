import { type TSchema, Type } from 'typebox';

/**
 * Schemas of the IMAP report mailbox routes (issue 6 §1c; docs/reports.md "IMAP intake"). They
 * mirror libs/monitoring's `ReportMailboxView`. The password is write-only: it appears in request
 * bodies and never in a response (`hasPassword` says one is set).
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
  description: 'Write-only: stored encrypted, never returned',
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
    password: Password,
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
    password: Type.Optional(Password),
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
    hasPassword: Type.Boolean({ description: 'A password is set (it is never returned)' }),
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
