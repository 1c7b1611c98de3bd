import { eventTypes } from '@mailwarden/db';
import { type TSchema, Type } from 'typebox';

/**
 * Schemas of the monitoring routes (issue 5, docs/monitoring.md): domains, findings, runs, posture
 * history, events, maintenance windows, tenant export. They mirror the views of libs/monitoring;
 * responses are allow-lists (additionalProperties: false), inputs refuse unknown fields.
 */
const closed = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(schema: T, options: { description?: string } = {}) =>
  Type.Union([schema, Type.Null()], options);
const DateTime = Type.String({ format: 'date-time' });
/** Ids are checked by the services (a malformed id is the same 404 as a missing one). */
const TypedId = (prefix: string) =>
  Type.String({ minLength: 1, maxLength: 64, examples: [`${prefix}_01jf8m3k2x9q7v5t4r6w8y0zab`] });
const Cursor = Type.String({ minLength: 1, maxLength: 64, description: '`nextCursor` of the previous page' });
const Limit = Type.Integer({ minimum: 1, maximum: 200, default: 50 });
/** Free-form JSON the checks produce (evidence, summaries, event payloads). */
const Json = Type.Record(Type.String(), Type.Unknown());

export const IdParams = (prefix: string) => Type.Object({ id: TypedId(prefix) }, closed);

export const Severity = Type.Union(
  [
    Type.Literal('info'),
    Type.Literal('low'),
    Type.Literal('medium'),
    Type.Literal('high'),
    Type.Literal('critical'),
  ],
  { description: 'info < low < medium < high < critical' },
);
export const CheckFamily = Type.Union([
  Type.Literal('dns'),
  Type.Literal('dnssec'),
  Type.Literal('tls'),
  Type.Literal('blocklist'),
]);
/** Every outbox event type (libs/db `eventTypes`, docs/webhooks.md), so a new one cannot be left out. */
export const EventTypeSchema = Type.Union(eventTypes.map((t) => Type.Literal(t)));

const IntervalSeconds = Type.Integer({
  minimum: 300,
  maximum: 604_800,
  description: 'Seconds between two runs of the family: 300 (5 min) to 604800 (7 days)',
});
const Intervals = Type.Object(
  { dns: IntervalSeconds, dnssec: IntervalSeconds, tls: IntervalSeconds, blocklist: IntervalSeconds },
  closed,
);
const ProbeOptions = Type.Object(
  {
    otherPorts: Type.Optional(
      Type.Boolean({ description: 'Probe submission, IMAP and POP3 ports of each MX too' }),
    ),
    relayTest: Type.Optional(
      Type.Boolean({ description: 'Run the open-relay test (stops at RCPT, example.invalid recipients)' }),
    ),
  },
  closed,
);

const DomainFields = {
  dkimSelectors: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
      maxItems: 50,
      description: 'DKIM selectors to check (reports add the ones receivers see)',
      examples: [['google', 's1']],
    }),
  ),
  sendingIps: Type.Optional(
    Type.Array(Type.String({ minLength: 2, maxLength: 45 }), {
      maxItems: 256,
      description: 'IP addresses the domain sends from: checked against IP blocklists besides its MX hosts',
      examples: [['192.0.2.25']],
    }),
  ),
  alertThreshold: Type.Optional(
    Nullable(Severity, {
      description: 'Lowest severity that alerts for this domain; null: the tenant’s threshold',
    }),
  ),
  probeOptions: Type.Optional(ProbeOptions),
  intervals: Type.Optional(Type.Partial(Intervals, closed)),
};

export const AddDomainBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 253, examples: ['acme.example'] }), ...DomainFields },
  closed,
);

export const UpdateDomainBody = Type.Object(DomainFields, { ...closed, minProperties: 1 });

export const DomainView = Type.Object(
  {
    id: TypedId('dom'),
    name: Type.String({ examples: ['acme.example'] }),
    verified: Type.Boolean(),
    verifiedAt: Nullable(DateTime),
    verification: Type.Object(
      {
        recordName: Type.String({ examples: ['_mailwarden.acme.example'] }),
        recordType: Type.Literal('TXT'),
        recordValue: Type.String({ examples: ['mailwarden-verification=…'] }),
      },
      { ...closed, description: 'Publish this TXT record, then POST /v1/domains/{id}/verify' },
    ),
    dkimSelectors: Type.Array(Type.String()),
    sendingIps: Type.Array(Type.String()),
    alertThreshold: Nullable(Severity),
    probeOptions: ProbeOptions,
    intervals: Intervals,
    posture: Nullable(
      Type.Object(
        { score: Type.Integer({ minimum: 0, maximum: 100 }), grade: Type.String({ examples: ['B'] }) },
        closed,
      ),
    ),
    lastCheckedAt: Nullable(DateTime),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  closed,
);

const Page = <T extends TSchema>(item: T) =>
  Type.Object(
    {
      items: Type.Array(item),
      nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null: the end' })),
    },
    closed,
  );

export const DomainListQuery = Type.Object(
  {
    search: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Name contains' })),
    verified: Type.Optional(Type.Boolean()),
    grade: Type.Optional(Type.String({ minLength: 1, maxLength: 2, examples: ['A'] })),
    limit: Limit,
    cursor: Type.Optional(Cursor),
  },
  closed,
);
export const DomainList = Page(DomainView);

export const ScanAccepted = Type.Object(
  {
    domainId: TypedId('dom'),
    families: Type.Array(CheckFamily, {
      description: 'Families queued now (tls only once the domain is verified)',
    }),
    queued: Type.Integer({ minimum: 0, description: 'Jobs offered to the queue' }),
  },
  closed,
);

export const FindingView = Type.Object(
  {
    id: TypedId('fnd'),
    domainId: TypedId('dom'),
    family: CheckFamily,
    check: Type.String({ examples: ['dmarc'] }),
    code: Type.String({ examples: ['dmarc.policy_none'] }),
    severity: Severity,
    subject: Type.String({ examples: ['acme.example'] }),
    message: Type.String(),
    evidence: Json,
    state: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
    firstSeenAt: DateTime,
    openedAt: DateTime,
    lastSeenAt: DateTime,
    resolvedAt: Nullable(DateTime),
    mutedUntil: Nullable(DateTime),
    acknowledgedAt: Nullable(DateTime),
    acknowledgedBy: Nullable(Type.String({ description: 'usr_… or key_…' })),
    acknowledgedUntil: Nullable(DateTime),
  },
  closed,
);

export const FindingListQuery = Type.Object(
  {
    domainId: Type.Optional(TypedId('dom')),
    state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
    minSeverity: Type.Optional(Severity),
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 100, examples: ['spf.too_many_lookups'] })),
    limit: Limit,
    cursor: Type.Optional(Cursor),
  },
  closed,
);
export const FindingList = Page(FindingView);

export const MuteBody = Type.Object(
  {
    until: Nullable(Type.String({ format: 'date-time', description: 'No alerts until then; null unmutes' })),
  },
  closed,
);
export const AcknowledgeBody = Type.Object(
  {
    until: Type.Optional(
      Nullable(
        Type.String({
          format: 'date-time',
          description: 'The acknowledgement lapses then; left out: until the finding resolves',
        }),
      ),
    ),
  },
  closed,
);

export const RunView = Type.Object(
  {
    id: TypedId('run'),
    domainId: TypedId('dom'),
    family: CheckFamily,
    slot: DateTime,
    startedAt: DateTime,
    durationMs: Type.Integer({ minimum: 0 }),
    outcome: Type.Union(['ok', 'findings', 'unknown', 'untestable', 'error'].map((o) => Type.Literal(o))),
    findingCount: Type.Integer({ minimum: 0 }),
    postureScore: Nullable(Type.Integer({ minimum: 0, maximum: 100 })),
    summary: Json,
  },
  closed,
);
export const RunListQuery = Type.Object({ limit: Limit, cursor: Type.Optional(Cursor) }, closed);
export const RunList = Page(RunView);

export const PostureQuery = Type.Object(
  {
    since: Type.Optional(
      Type.String({ format: 'date-time', description: 'From this time; default 90 days ago' }),
    ),
  },
  closed,
);
export const PosturePoint = Type.Object(
  {
    recordedAt: DateTime,
    score: Type.Integer({ minimum: 0, maximum: 100 }),
    grade: Type.String(),
    partial: Type.Boolean({ description: 'Some lookups of the run could not be answered' }),
  },
  closed,
);
export const PostureHistory = Type.Object({ items: Type.Array(PosturePoint) }, closed);

export const EventView = Type.Object(
  {
    id: TypedId('evt'),
    type: EventTypeSchema,
    domainId: Nullable(TypedId('dom')),
    severity: Nullable(Severity),
    occurredAt: DateTime,
    suppressed: Nullable(
      Type.String({
        description: 'Why it alerted nobody: below_threshold, muted, acknowledged, maintenance',
      }),
    ),
    payload: Json,
  },
  closed,
);
export const EventListQuery = Type.Object(
  {
    domainId: Type.Optional(TypedId('dom')),
    type: Type.Optional(EventTypeSchema),
    limit: Limit,
    cursor: Type.Optional(Cursor),
  },
  closed,
);
export const EventList = Page(EventView);

export const MaintenanceWindowView = Type.Object(
  {
    id: TypedId('mnt'),
    domainId: Nullable(TypedId('dom')),
    startsAt: DateTime,
    endsAt: DateTime,
    reason: Type.String(),
  },
  closed,
);
export const CreateMaintenanceWindowBody = Type.Object(
  {
    domainId: Type.Optional(
      Nullable(TypedId('dom'), { description: 'One domain; left out or null: every domain' }),
    ),
    startsAt: Type.String({ format: 'date-time' }),
    endsAt: Type.String({ format: 'date-time', description: 'After startsAt, at most 31 days later' }),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  },
  closed,
);
export const MaintenanceWindowList = Type.Object({ items: Type.Array(MaintenanceWindowView) }, closed);

/** The export is a large document of many sections; its top-level shape is fixed, sections grow. */
export const TenantExport = Type.Object(
  {
    format: Type.Literal('mailwarden-tenant-export/1'),
    exportedAt: DateTime,
  },
  {
    additionalProperties: true,
    description:
      'tenant, settings, members, apiKeys (prefixes only), auditEvents, domains (with schedules), findings, runs, postureHistory, events, maintenanceWindows, webhookEndpoints (no secrets), webhookDeliveries. Large sections are `{truncated, rows}`.',
  },
);

export const DeleteTenantBody = Type.Object(
  {
    confirm: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'The tenant’s name, exactly: deleting everything is not undone',
    }),
  },
  closed,
);
