import { queueNames } from './queue-names.ts';

/**
 * The typed contract between producers and processors: for each queue, the union of the jobs it
 * carries as `{ name, payload }`. Payloads hold ids and small values, never secrets — Redis stores
 * them in clear text and they show up in dashboards.
 */

/** Upper bound on `echo.delayMs`, so a bad request cannot pin a worker slot for long. */
export const maxEchoDelayMs = 60_000;
/** Upper bound on `echo.message`, so the job stays a small Redis value. */
export const maxEchoMessageLength = 1_000;

export interface EchoPayload {
  message: string;
  /** How long the processor waits before answering; 0..maxEchoDelayMs. */
  delayMs?: number;
}

export type SystemJob = { name: 'echo'; payload: EchoPayload };

export type QueueJobTypes = {
  [queueNames.system]: SystemJob;
  [queueNames.scheduler]: SchedulerJob;
  [queueNames.checksDns]: CheckJob;
  [queueNames.checksDnssec]: CheckJob;
  [queueNames.checksTls]: CheckJob;
  [queueNames.checksBlocklist]: CheckJob;
  [queueNames.webhooks]: WebhookJob;
  [queueNames.reports]: ReportJob;
  [queueNames.reportMailboxes]: ReportMailboxJob;
};

export type JobNameOf<Q extends keyof QueueJobTypes> = QueueJobTypes[Q]['name'];

export type PayloadOf<Q extends keyof QueueJobTypes, N extends JobNameOf<Q>> = Extract<
  QueueJobTypes[Q],
  { name: N }
>['payload'];

/**
 * Job data read back from Redis is untrusted input: it may come from an older producer or a hand
 * edit. Returns the payload or a list of problems, so the processor can fail the job for good.
 */
export function parseEchoPayload(
  data: unknown,
): { ok: true; payload: EchoPayload } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, problems: ['payload must be an object'] };
  }
  const { message, delayMs } = data as Record<string, unknown>;
  if (typeof message !== 'string') problems.push('message must be a string');
  else if (message.length > maxEchoMessageLength)
    problems.push(`message must be at most ${maxEchoMessageLength} characters`);
  if (
    delayMs !== undefined &&
    (!Number.isInteger(delayMs) || (delayMs as number) < 0 || (delayMs as number) > maxEchoDelayMs)
  )
    problems.push(`delayMs must be an integer between 0 and ${maxEchoDelayMs}`);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    payload:
      delayMs === undefined
        ? { message: message as string }
        : { message: message as string, delayMs: delayMs as number },
  };
}

export const checkFamilyNames = ['dns', 'dnssec', 'tls', 'blocklist'] as const;
export type CheckFamilyName = (typeof checkFamilyNames)[number];

/** Which queue runs a family's checks. */
export const familyQueues = {
  dns: queueNames.checksDns,
  dnssec: queueNames.checksDnssec,
  tls: queueNames.checksTls,
  blocklist: queueNames.checksBlocklist,
} as const satisfies Record<CheckFamilyName, string>;

/** Upper bound on the tenants one check job fans out to; more are split over several jobs. */
export const maxCheckTargets = 200;

export interface CheckTarget {
  tenantId: string;
  domainId: string;
}

/**
 * Check `family` of domain `name` once and record the result for every target (each tenant's row
 * of that name). `slot` (ISO time) is the schedule slot: with the family and the domain it makes
 * the run unique, so a redone job stores nothing twice.
 */
export interface RunCheckPayload {
  name: string;
  family: CheckFamilyName;
  slot: string;
  targets: CheckTarget[];
  /** Which slice of the name's targets (more than maxCheckTargets watch it); 0 when absent. */
  chunk?: number;
}

/**
 * Checks of several names of one family in one job (the tick's and scan-now's jobs): each entry is
 * a `RunCheckPayload` of that family. One job per name cost tens of Redis commands per name and
 * most of a worker's time in a large sweep; a batch costs them once.
 */
export interface RunChecksPayload {
  family: CheckFamilyName;
  checks: RunCheckPayload[];
}

/**
 * Names per batch job, by family. Small for the MX probe, whose checks take seconds and touch other
 * people's servers: a job redone after a crash redoes at most this many.
 */
export const checkBatchSizes = {
  dns: 25,
  dnssec: 25,
  blocklist: 25,
  tls: 4,
} as const satisfies Record<CheckFamilyName, number>;

/** Upper bound on the entries of a batch read back from Redis. */
export const maxBatchChecks = 100;

/** `run-check` is one name (jobs queued by earlier versions); `run-checks` a batch. */
export type CheckJob =
  | { name: 'run-check'; payload: RunCheckPayload }
  | { name: 'run-checks'; payload: RunChecksPayload };

export type SchedulerJob =
  | { name: 'tick'; payload: Record<string, never> }
  | { name: 'sweep-outbox'; payload: Record<string, never> }
  | { name: 'purge-history'; payload: Record<string, never> }
  /** Lists the report mailboxes due for a poll (every minute) and enqueues one poll job each. */
  | { name: 'poll-mailboxes'; payload: Record<string, never> };

export interface EventRef {
  tenantId: string;
  eventId: string;
}
export interface DeliveryRef {
  tenantId: string;
  deliveryId: string;
}
export interface EndpointRef {
  tenantId: string;
  endpointId: string;
}
export type WebhookJob =
  | { name: 'dispatch-event'; payload: EventRef }
  | { name: 'deliver'; payload: DeliveryRef }
  /** The daily digest of one e-mail endpoint (a job scheduler per endpoint, `digest.<endpoint>`). */
  | { name: 'send-digest'; payload: EndpointRef };

/** Parse one committed raw report of one tenant (ids only; the bytes stay in Postgres). */
export interface RawReportRef {
  tenantId: string;
  rawReportId: string;
}
export type ReportJob = { name: 'parse-report'; payload: RawReportRef };

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NAME_RE = /^[a-z0-9._-]{1,253}$/;

type Parsed<T> = { ok: true; payload: T } | { ok: false; problems: string[] };

function record(data: unknown): Record<string, unknown> | undefined {
  return typeof data === 'object' && data !== null && !Array.isArray(data)
    ? (data as Record<string, unknown>)
    : undefined;
}

/** Validates a run-check payload read back from Redis (untrusted, see parseEchoPayload). */
export function parseRunCheckPayload(data: unknown): Parsed<RunCheckPayload> {
  const obj = record(data);
  if (!obj) return { ok: false, problems: ['payload must be an object'] };
  const problems: string[] = [];
  const { name, family, slot, targets, chunk } = obj;
  if (typeof name !== 'string' || !NAME_RE.test(name)) problems.push('name must be a lower-case domain name');
  if (typeof family !== 'string' || !(checkFamilyNames as readonly string[]).includes(family))
    problems.push(`family must be one of ${checkFamilyNames.join(', ')}`);
  if (typeof slot !== 'string' || Number.isNaN(Date.parse(slot))) problems.push('slot must be an ISO time');
  if (!Array.isArray(targets) || targets.length === 0 || targets.length > maxCheckTargets)
    problems.push(`targets must hold 1 to ${maxCheckTargets} entries`);
  else if (!targets.every((t) => isRef(t, 'domainId')))
    problems.push('each target needs tenantId and domainId uuids');
  if (
    chunk !== undefined &&
    !(Number.isInteger(chunk) && (chunk as number) >= 0 && (chunk as number) <= 10_000)
  )
    problems.push('chunk must be a small non-negative integer');
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    payload: {
      name: name as string,
      family: family as CheckFamilyName,
      slot: new Date(slot as string).toISOString(),
      targets: (targets as CheckTarget[]).map((t) => ({ tenantId: t.tenantId, domainId: t.domainId })),
      ...(chunk ? { chunk: chunk as number } : {}),
    },
  };
}

/** Validates a run-checks payload read back from Redis; every entry as `parseRunCheckPayload`. */
export function parseRunChecksPayload(data: unknown): Parsed<RunChecksPayload> {
  const obj = record(data);
  if (!obj) return { ok: false, problems: ['payload must be an object'] };
  const { family, checks } = obj;
  if (typeof family !== 'string' || !(checkFamilyNames as readonly string[]).includes(family))
    return { ok: false, problems: [`family must be one of ${checkFamilyNames.join(', ')}`] };
  if (!Array.isArray(checks) || checks.length === 0 || checks.length > maxBatchChecks)
    return { ok: false, problems: [`checks must hold 1 to ${maxBatchChecks} entries`] };
  const parsed: RunCheckPayload[] = [];
  for (const [i, entry] of checks.entries()) {
    const one = parseRunCheckPayload(entry);
    if (!one.ok) return { ok: false, problems: one.problems.map((p) => `checks[${i}]: ${p}`) };
    if (one.payload.family !== family)
      return { ok: false, problems: [`checks[${i}]: family must be ${family}`] };
    parsed.push(one.payload);
  }
  return { ok: true, payload: { family: family as CheckFamilyName, checks: parsed } };
}

function isRef(value: unknown, key: string): boolean {
  const obj = record(value);
  return (
    !!obj &&
    typeof obj.tenantId === 'string' &&
    UUID_RE.test(obj.tenantId) &&
    typeof obj[key] === 'string' &&
    UUID_RE.test(obj[key] as string)
  );
}

export function parseEventRef(data: unknown): Parsed<EventRef> {
  if (!isRef(data, 'eventId')) return { ok: false, problems: ['payload needs tenantId and eventId uuids'] };
  const { tenantId, eventId } = data as EventRef;
  return { ok: true, payload: { tenantId, eventId } };
}

/** The daily digest's job scheduler of an e-mail endpoint: every day at 07:00 UTC. */
export const digestRepeat = { pattern: '0 7 * * *', tz: 'UTC' } as const;
export function digestSchedulerId(endpointId: string): string {
  return `digest.${endpointId}`;
}

export function parseEndpointRef(data: unknown): Parsed<EndpointRef> {
  if (!isRef(data, 'endpointId'))
    return { ok: false, problems: ['payload needs tenantId and endpointId uuids'] };
  const { tenantId, endpointId } = data as EndpointRef;
  return { ok: true, payload: { tenantId, endpointId } };
}

export function parseDeliveryRef(data: unknown): Parsed<DeliveryRef> {
  if (!isRef(data, 'deliveryId'))
    return { ok: false, problems: ['payload needs tenantId and deliveryId uuids'] };
  const { tenantId, deliveryId } = data as DeliveryRef;
  return { ok: true, payload: { tenantId, deliveryId } };
}

export function parseRawReportRef(data: unknown): Parsed<RawReportRef> {
  if (!isRef(data, 'rawReportId'))
    return { ok: false, problems: ['payload needs tenantId and rawReportId uuids'] };
  const { tenantId, rawReportId } = data as RawReportRef;
  return { ok: true, payload: { tenantId, rawReportId } };
}

/** Poll one IMAP report mailbox of one tenant (ids only; the password stays sealed in Postgres). */
export interface MailboxRef {
  tenantId: string;
  mailboxId: string;
}
export type ReportMailboxJob = { name: 'poll-mailbox'; payload: MailboxRef };

export function parseMailboxRef(data: unknown): Parsed<MailboxRef> {
  if (!isRef(data, 'mailboxId'))
    return { ok: false, problems: ['payload needs tenantId and mailboxId uuids'] };
  const { tenantId, mailboxId } = data as MailboxRef;
  return { ok: true, payload: { tenantId, mailboxId } };
}

/**
 * `imap.<uuid>.<slot>`: the tick's poll of one mailbox in one minute (`slot`: minutes since the
 * epoch), or `imap.<uuid>.now.<slot>` for a poll a user asked for; duplicates within a slot collapse.
 */
export function mailboxPollJobId(mailboxId: string, slot: number, manual = false): string {
  return manual ? `imap.${mailboxId}.now.${slot}` : `imap.${mailboxId}.${slot}`;
}

/**
 * The job that hands one committed outbox event to the webhook dispatcher. Its id is `evt.<uuid>`:
 * the enqueue after commit and the outbox sweeper's late one collapse into one job.
 */
export function dispatchEventJob(ref: EventRef): {
  name: 'dispatch-event';
  payload: EventRef;
  jobId: string;
} {
  return {
    name: 'dispatch-event',
    payload: { tenantId: ref.tenantId, eventId: ref.eventId },
    jobId: `evt.${ref.eventId}`,
  };
}

/** `rpt.<uuid>`: one job per raw report, so an intake retry and the sweeper collapse into one. */
export function parseReportJobId(rawReportId: string): string {
  return `rpt.${rawReportId}`;
}
