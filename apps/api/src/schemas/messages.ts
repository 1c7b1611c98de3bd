import { type TSchema, Type } from 'typebox';

/**
 * Schemas of POST /v1/messages/check (docs/message-check.md). The response mirrors libs/checks'
 * `MessageCheckReport`; evidence and blocklist facts are free-form JSON (their shape is per finding).
 */
const closed = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const IpText = Type.String({
  minLength: 2,
  maxLength: 45,
  description: 'IPv4 or IPv6 address',
  examples: ['192.0.2.1'],
});
const HeloText = Type.String({ minLength: 1, maxLength: 255, examples: ['mail.sender.example'] });
const MailFromText = Type.String({
  maxLength: 320,
  description: 'The MAIL FROM address; empty for a bounce (null reverse-path)',
  examples: ['bounce@sender.example'],
});

/** Envelope fields as query parameters, for `message/rfc822` bodies. */
export const EnvelopeQuery = Type.Object(
  {
    clientIp: Type.Optional(IpText),
    helo: Type.Optional(HeloText),
    mailFrom: Type.Optional(MailFromText),
  },
  closed,
);

export const MessageJsonBody = Type.Object(
  {
    message: Type.String({
      minLength: 1,
      description: 'The raw RFC 5322 message, base64 (RFC 4648 §4): the bytes exactly as received',
    }),
    clientIp: Type.Optional(IpText),
    helo: Type.Optional(HeloText),
    mailFrom: Type.Optional(MailFromText),
  },
  closed,
);

const Finding = Type.Object(
  {
    code: Type.String({ examples: ['message.dmarc_fail'] }),
    severity: Type.Union(['info', 'low', 'medium', 'high', 'critical'].map((s) => Type.Literal(s))),
    subject: Type.String(),
    message: Type.String(),
    evidence: Type.Record(Type.String(), Type.Unknown()),
  },
  closed,
);

const Spf = Type.Object(
  {
    result: Type.String({ examples: ['pass'] }),
    domain: Nullable(Type.String()),
    clientIp: Nullable(Type.String()),
    helo: Nullable(Type.String()),
    mailFrom: Nullable(Type.String()),
    comment: Nullable(Type.String()),
    lookups: Nullable(Type.Integer()),
  },
  closed,
);

const Dkim = Type.Object(
  {
    domain: Type.String(),
    selector: Nullable(Type.String()),
    algorithm: Nullable(Type.String()),
    result: Type.String({ examples: ['pass'] }),
    aligned: Type.Boolean(),
    comment: Nullable(Type.String()),
  },
  closed,
);

const Arc = Type.Object(
  { result: Type.String(), instance: Type.Integer(), comment: Nullable(Type.String()) },
  closed,
);

const Dmarc = Type.Object(
  {
    result: Type.String(),
    domain: Type.String(),
    policy: Nullable(Type.String()),
    pct: Nullable(Type.Integer()),
    spfAligned: Type.Boolean(),
    dkimAligned: Type.Boolean(),
    comment: Nullable(Type.String()),
    record: Nullable(Type.String()),
  },
  closed,
);

const Blocklists = Type.Object(
  {
    check: Type.Literal('blocklist'),
    status: Type.Union([Type.Literal('ok'), Type.Literal('findings'), Type.Literal('unknown')]),
    facts: Type.Record(Type.String(), Type.Unknown(), {
      description:
        'Lists asked, subjects, every lookup with its answer codes, and the listed set per subject',
    }),
    findings: Type.Array(Finding),
  },
  closed,
);

export const MessageCheckResponse = Type.Object(
  {
    verdict: Type.Union(
      ['pass', 'neutral', 'unknown', 'suspicious', 'fail'].map((v) => Type.Literal(v)),
      { description: 'The worst any part reached: pass < neutral < unknown < suspicious < fail' },
    ),
    reasons: Type.Array(Type.String(), { description: 'Finding codes that decided the verdict' }),
    sizeBytes: Type.Integer(),
    envelope: Type.Object(
      {
        clientIp: Nullable(Type.String()),
        helo: Nullable(Type.String()),
        mailFrom: Nullable(Type.String()),
        mailFromSource: Type.Union([
          Type.Literal('given'),
          Type.Literal('return-path'),
          Type.Literal('none'),
        ]),
      },
      closed,
    ),
    headerFrom: Type.Array(Type.String()),
    subject: Nullable(Type.String()),
    authentication: Type.Object(
      {
        spf: Spf,
        dkim: Type.Array(Dkim),
        arc: Arc,
        dmarc: Nullable(Dmarc),
        authenticationResults: Type.String({
          description: 'The results as an Authentication-Results value (RFC 8601)',
        }),
        dnsBudgetExhausted: Type.Boolean(),
        timedOut: Type.Boolean(),
        error: Nullable(Type.String()),
      },
      closed,
    ),
    content: Type.Object(
      {
        parts: Type.Integer(),
        texts: Type.Array(
          Type.Object({ contentType: Type.String(), charset: Type.String(), chars: Type.Integer() }, closed),
        ),
        attachments: Type.Array(
          Type.Object(
            { contentType: Type.String(), filename: Type.Optional(Type.String()), bytes: Type.Integer() },
            closed,
          ),
        ),
        urls: Type.Array(Type.String()),
        domains: Type.Array(
          Type.Object(
            {
              domain: Type.String(),
              registrable: Nullable(Type.String()),
              sources: Type.Array(Type.String()),
            },
            closed,
          ),
        ),
        ipHosts: Type.Array(
          Type.Object({ address: Type.String(), sources: Type.Array(Type.String()) }, closed),
        ),
        truncated: Type.Array(Type.String()),
      },
      closed,
    ),
    blocklists: Nullable(Blocklists),
    findings: Type.Array(Finding),
    dnsQueries: Type.Integer(),
    durationMs: Type.Integer(),
  },
  closed,
);
