import { type TSchema, Type } from 'typebox';

/**
 * Schemas of the failure-report routes and the tenant's monitoring settings (issue 5 §3-4, issue 6
 * §2; docs/reports.md "Failure reports"). They mirror libs/monitoring's views.
 */
const closed = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const TypedId = (prefix: string) =>
  Type.String({ minLength: 5, maxLength: 64, examples: [`${prefix}_01jd9…`] });
const Severity = Type.Union(
  ['info', 'low', 'medium', 'high', 'critical'].map((s) => Type.Literal(s)),
  { description: 'Lowest finding severity that alerts' },
);
const RetentionDays = Type.Integer({
  minimum: 7,
  maximum: 3650,
  description: 'Runs, resolved findings, events, deliveries and reports older than this are purged',
});
const FailureRetentionDays = Type.Integer({
  minimum: 1,
  maximum: 90,
  description: 'Stored failure reports, and every received input that held one, are purged after this',
});

export const MonitoringSettings = Type.Object(
  {
    alertThreshold: Severity,
    retentionDays: RetentionDays,
    maxDomains: Type.Integer({ minimum: 0, description: 'Domain quota, set by the operator' }),
    failureReports: Type.Object(
      {
        store: Type.Boolean({ description: 'Store redacted DMARC failure (ARF) reports' }),
        retentionDays: FailureRetentionDays,
      },
      closed,
    ),
  },
  closed,
);

export const MonitoringSettingsPatch = Type.Object(
  {
    alertThreshold: Type.Optional(Severity),
    retentionDays: Type.Optional(RetentionDays),
    failureReports: Type.Optional(
      Type.Object(
        { store: Type.Optional(Type.Boolean()), retentionDays: Type.Optional(FailureRetentionDays) },
        closed,
      ),
    ),
  },
  closed,
);

export const FailureReportIdParams = Type.Object({ id: TypedId('frp') }, closed);

export const FailureReportListQuery = Type.Object(
  {
    domainId: Type.Optional(TypedId('dom')),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  closed,
);

const Header = Type.Object({ name: Type.String(), value: Type.String() }, closed);

export const FailureReportView = Type.Object(
  {
    id: TypedId('frp'),
    domainId: TypedId('dom'),
    reportedDomain: Type.String(),
    feedbackType: Type.String({ description: 'RFC 5965 Feedback-Type, `auth-failure` for DMARC' }),
    authFailure: Nullable(Type.String({ description: 'RFC 6591 Auth-Failure: dkim, spf, dmarc, …' })),
    deliveryResult: Nullable(Type.String()),
    identityAlignment: Nullable(Type.String()),
    arrivalDate: Nullable(Type.String({ format: 'date-time' })),
    sourceIp: Nullable(Type.String()),
    originalMailFrom: Nullable(Type.String({ description: 'Redacted: `*@domain`' })),
    originalRcptTo: Type.Array(Type.String()),
    dkim: Type.Object({ domain: Nullable(Type.String()), selector: Nullable(Type.String()) }, closed),
    spfDns: Nullable(Type.String()),
    authenticationResults: Type.Array(Type.String()),
    headers: Type.Array(Header, { description: 'Kept header fields of the reported message, redacted' }),
    reporter: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    receivedAt: Type.String({ format: 'date-time' }),
    uploadId: TypedId('rpt'),
  },
  closed,
);

export const FailureReportList = Type.Object(
  { items: Type.Array(FailureReportView), nextCursor: Nullable(Type.String()) },
  closed,
);
