import { type TSchema, Type } from 'typebox';

/**
 * Schemas of the report routes (issue 6, docs/reports.md): uploads, their status, the report list,
 * a domain's summary and the enforcement advisor. They mirror libs/monitoring's reports service.
 */
const closed = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Count = Type.Integer({ minimum: 0 });
const Rate = Type.Number({ minimum: 0, maximum: 1, description: 'Share of messages, 0 to 1' });
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', examples: ['2026-11-27'] });
const TypedId = (prefix: string) =>
  Type.String({ minLength: 5, maxLength: 64, examples: [`${prefix}_01jd9…`] });

export const ReportIdParams = Type.Object({ id: TypedId('rpt') }, closed);
export const DomainIdParams = Type.Object({ id: TypedId('dom') }, closed);

export const WindowQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({ maxLength: 32, description: 'First UTC day (YYYY-MM-DD); default 29 days before `to`' }),
    ),
    to: Type.Optional(
      Type.String({ maxLength: 32, description: 'Last UTC day (YYYY-MM-DD); default today' }),
    ),
  },
  closed,
);

export const RawReportStates = ['pending', 'parsed', 'failed', 'quarantined', 'duplicate'] as const;

export const UploadAccepted = Type.Object(
  {
    id: TypedId('rpt'),
    state: Type.Union(RawReportStates.map((s) => Type.Literal(s))),
    duplicate: Type.Boolean({ description: 'These exact bytes were uploaded or received before' }),
  },
  closed,
);

export const UploadStatus = Type.Object(
  {
    id: TypedId('rpt'),
    receivedVia: Type.Union([Type.Literal('smtp'), Type.Literal('upload'), Type.Literal('imap')]),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    size: Count,
    receivedAt: Type.String({ format: 'date-time' }),
    state: Type.Union(RawReportStates.map((s) => Type.Literal(s))),
    errorCode: Nullable(
      Type.String({ description: 'A report.* code of docs/reports.md when the file was refused' }),
    ),
    errorDetail: Nullable(Type.String()),
    parsedAt: Nullable(Type.String({ format: 'date-time' })),
  },
  closed,
);

export const ReportListQuery = Type.Object(
  {
    domainId: Type.Optional(TypedId('dom')),
    kind: Type.Optional(Type.Union([Type.Literal('aggregate'), Type.Literal('tls')])),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  closed,
);

export const ReportListItem = Type.Object(
  {
    id: TypedId('rpt'),
    kind: Type.Union([Type.Literal('aggregate'), Type.Literal('tls')]),
    orgName: Type.String(),
    reportId: Type.String(),
    policyDomain: Nullable(Type.String()),
    domainId: Nullable(TypedId('dom')),
    begin: Type.String({ format: 'date-time' }),
    end: Type.String({ format: 'date-time' }),
    recordCount: Count,
    messageCount: Type.Integer({ minimum: 0, description: 'Messages (aggregate) or TLS sessions (tls)' }),
    receivedAt: Type.String({ format: 'date-time' }),
  },
  closed,
);

export const ReportList = Type.Object(
  { items: Type.Array(ReportListItem), nextCursor: Nullable(Type.String()) },
  closed,
);

const Window = Type.Object({ from: Day, to: Day }, closed);
const Dispositions = Type.Object({ none: Count, quarantine: Count, reject: Count }, closed);
const DayVolume = {
  messages: Count,
  dmarcPass: Count,
  dkimAligned: Count,
  spfAligned: Count,
  dispositions: Dispositions,
};

/** Reverse DNS and sending service of a source address (source_ip_names cache), as GraphQL's SourceName. */
const SourceName = Type.Union(
  [
    Type.Object(
      {
        ptr: Nullable(Type.String({ description: 'The PTR name; null when the address has none' })),
        forwardConfirmed: Type.Boolean({ description: 'The PTR name resolves back to the address (iprev)' }),
        provider: Nullable(
          Type.Object(
            { id: Type.String(), name: Type.String() },
            { ...closed, description: 'The sending service' },
          ),
        ),
      },
      closed,
    ),
    Type.Null(),
  ],
  { description: 'Null while the address is not yet named (lookups still running or failed)' },
);

export const ReportSummary = Type.Object(
  {
    domainId: TypedId('dom'),
    window: Window,
    totals: Type.Object(
      {
        day: Type.String(),
        ...DayVolume,
        passRate: Rate,
        dkimAlignedRate: Rate,
        spfAlignedRate: Rate,
      },
      closed,
    ),
    days: Type.Array(Type.Object({ day: Day, ...DayVolume }, closed)),
    topSources: Type.Array(
      Type.Object(
        { ip: Nullable(Type.String()), messages: Count, dmarcPass: Count, passRate: Rate, name: SourceName },
        closed,
      ),
    ),
    reporters: Type.Array(Type.Object({ orgName: Type.String(), reports: Count, messages: Count }, closed)),
    tls: Type.Object(
      {
        successfulSessions: Count,
        failedSessions: Count,
        failures: Type.Array(
          Type.Object({ resultType: Type.String(), mx: Nullable(Type.String()), sessions: Count }, closed),
        ),
      },
      closed,
    ),
  },
  closed,
);

const FailingSource = Type.Object(
  {
    ip: Nullable(Type.String()),
    messages: Count,
    failing: Count,
    passRate: Rate,
    kind: Type.Union([
      Type.Literal('authenticated_unaligned'),
      Type.Literal('partially_aligned'),
      Type.Literal('unauthenticated'),
    ]),
    headerFrom: Nullable(Type.String()),
    name: SourceName,
  },
  closed,
);

export const EnforcementAdvice = Type.Object(
  {
    domainId: TypedId('dom'),
    window: Window,
    currentPolicy: Nullable(Type.String({ description: 'p= as the latest report states it' })),
    recommendation: Type.Union([
      Type.Literal('insufficient_data'),
      Type.Literal('move_to_quarantine'),
      Type.Literal('move_to_reject'),
      Type.Literal('fix_sources_first'),
      Type.Literal('already_enforced'),
    ]),
    messages: Count,
    passRate: Rate,
    blockingSources: Type.Array(FailingSource, {
      description:
        'Sources above the threshold that look legitimate and still fail alignment: fix these first',
    }),
    unauthenticatedSources: Type.Array(FailingSource, {
      description: 'Sources above the threshold that authenticate nothing: what enforcement stops',
    }),
    thresholdMessages: Count,
  },
  closed,
);

export const ReportAddress = Type.Object(
  {
    address: Type.String({ examples: ['k3v9q2m8x4t7b1n6c5z0p2r8wd@reports.example.com'] }),
    rua: Type.String({ description: 'The DMARC record tag to publish, e.g. in v=DMARC1; p=none; rua=…' }),
    tlsRpt: Type.String({
      description: 'The TLS-RPT record (RFC 8460 §3) to publish at _smtp._tls.<domain>',
    }),
    authorizationRecord: Type.String({
      description:
        'RFC 7489 §7.1: receivers send to an address outside your domain only if this TXT record exists; the operator publishes it once as a wildcard',
    }),
  },
  closed,
);
