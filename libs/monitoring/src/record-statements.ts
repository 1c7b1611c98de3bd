/**
 * The statements that record a batch of runs of one tenant (record-run.ts), set-based so that a
 * batch of any size costs the same round trips:
 *
 * 1. with BEGIN and the tenant setting, in one simple-protocol query (`loadText`): the batch's
 *    domains locked, then their findings, check states and maintenance windows — read after the
 *    lock, each statement with its own snapshot, so they are the latest committed ones. Findings
 *    and states come as one JSON array each (one native JSON.parse instead of a row and a date
 *    parser per field: a batch holds thousands of them);
 * 2. every write in one statement (`writeChanges`), its rows as JSON arrays (`json_to_recordset`),
 *    a named prepared statement (its text never changes, so it is parsed once per connection). The
 *    rows with a jsonb column (runs, findings, finding changes, events) come as `jsonb`: `json`
 *    input parses such a column twice (the array, then each value again) — half the time of the
 *    findings' insert in a first sweep, measured with auto_explain;
 * 3. COMMIT.
 *
 * Everything runs inside the tenant's transaction: RLS applies to every row.
 */
import type { Severity } from '@mailwarden/checks';
import { sqlUuidArray, type TenantClient } from '@mailwarden/db';
import type pg from 'pg';

const FAMILY_RE = /^[a-z]+$/;

/**
 * The reads of one round (each domain once), as SQL text without parameters: uuids go through
 * `sqlUuidArray`, families are checked names, times come from `Date#toISOString`.
 *
 * The domains are locked in id order: runs of one domain are serialised, and two batches never wait
 * on each other in a cycle. With them, what alerting needs: the thresholds, and whether the tenant
 * has any enabled endpoint at all (without one, dispatching an event could create no delivery).
 */
export function loadText(runs: readonly { domainId: string; family: string; now: Date }[]): string {
  const ids = sqlUuidArray(runs.map((r) => r.domainId));
  for (const r of runs) if (!FAMILY_RE.test(r.family)) throw new Error('a family is a lower-case name');
  const families = `'{${runs.map((r) => r.family).join(',')}}'::text[]`;
  const times = runs.map((r) => r.now.getTime());
  const from = new Date(Math.min(...times)).toISOString();
  const to = new Date(Math.max(...times)).toISOString();
  return `
    select d.id, d.name, d.verified_at, d.verification_token, d.alert_threshold,
           d.posture_score, d.posture_grade,
           (select ts.alert_threshold from tenant_settings ts where ts.tenant_id = d.tenant_id) as tenant_threshold,
           exists(select 1 from webhook_endpoints e where e.enabled) as has_endpoints
      from unnest(${ids}) as r(id)
      join domains d on d.id = r.id
     where d.deleted_at is null
     order by d.id
       for update of d;
    select json_agg(json_build_array(f.id, f.domain_id, f.family, f."check", f.fingerprint, f.code, f.severity,
                                     f.subject, f.message, f.evidence, f.state, f.first_seen_at, f.opened_at,
                                     f.last_seen_at, f.muted_until, f.acknowledged_at, f.acknowledged_until)) as rows
      from findings f
      join unnest(${ids}, ${families}) as r(domain_id, family)
        on f.domain_id = r.domain_id and f.family = r.family;
    select json_agg(json_build_array(c.domain_id, c."check", c.status, c.consecutive_unknown,
                                     c.untestable_reported, c.updated_at)) as rows
      from check_states c where c.domain_id = any(${ids});
    select w.domain_id, w.starts_at, w.ends_at from maintenance_windows w
     where w.starts_at <= '${to}'::timestamptz and w.ends_at > '${from}'::timestamptz`;
}

/** How many result sets `loadText` yields. */
export const loadResults = 4;

/**
 * Every write of a round in one statement. The runs go first: unique on domain, family and slot,
 * so a run stored before (a redone job) inserts nothing — and every other part only takes the rows
 * of domains whose run was inserted (`stored`). Then new findings; findings seen again, changed,
 * reopened or resolved (each case touches only its columns, so a mute or acknowledgement made
 * meanwhile stays); check states; posture points; the schedules' next slots (interval ± jitter);
 * the domains' summary columns; the outbox events. No row is written by two parts. Updates name
 * their rows by id too (`$8`, `$9`), so they are found by primary key whatever the tenant's size.
 * The tenant is one parameter (`$10`), not a field of every row: a first sweep writes some twenty
 * rows a domain, and the JSON is built, sent and parsed per byte.
 */
const writeChanges = {
  name: 'mw_record_write_changes',
  text: `
    with stored as (
      insert into check_runs (id, tenant_id, domain_id, family, slot, started_at, duration_ms, outcome,
                              summary, finding_count, posture_score)
      select r.id, $10::uuid, r.domain_id, r.family, r.slot, r.started_at, r.duration_ms, r.outcome,
             r.summary, r.finding_count, r.posture_score
        from jsonb_to_recordset($1::jsonb) as r(id uuid, domain_id uuid, family text,
             slot timestamptz, started_at timestamptz, duration_ms integer, outcome text, summary jsonb,
             finding_count integer, posture_score smallint)
      on conflict (domain_id, family, slot) do nothing
      returning domain_id),
    new_findings as (
      insert into findings (id, tenant_id, domain_id, family, "check", fingerprint, code, severity, subject,
                            message, evidence, state, first_seen_at, opened_at, last_seen_at)
      select r.id, $10::uuid, r.domain_id, r.family, r."check", r.fingerprint, r.code, r.severity, r.subject,
             r.message, r.evidence, 'open', r.now, r.now, r.now
        from jsonb_to_recordset($2::jsonb) as r(id uuid, domain_id uuid, family text, "check" text,
             fingerprint text, code text, severity text, subject text, message text, evidence jsonb,
             now timestamptz)
       where r.domain_id in (select domain_id from stored)),
    changed_findings as (
      update findings f
         set state = case u.kind when 'reopen' then 'open' when 'resolve' then 'resolved' else f.state end,
             opened_at = case when u.kind = 'reopen' then u.now else f.opened_at end,
             last_seen_at = case when u.kind = 'resolve' then f.last_seen_at else u.now end,
             resolved_at = case u.kind when 'reopen' then null when 'resolve' then u.now else f.resolved_at end,
             severity = case when u.kind in ('reopen', 'change') then u.severity else f.severity end,
             message = case when u.kind in ('reopen', 'change') then u.message else f.message end,
             evidence = case when u.kind in ('reopen', 'change') then u.evidence else f.evidence end,
             acknowledged_at = case when u.kind = 'reopen' then null else f.acknowledged_at end,
             acknowledged_by = case when u.kind = 'reopen' then null else f.acknowledged_by end,
             acknowledged_until = case when u.kind = 'reopen' then null else f.acknowledged_until end
        from jsonb_to_recordset($3::jsonb) as u(id uuid, domain_id uuid, kind text, now timestamptz,
             severity text, message text, evidence jsonb)
       where f.id = any($8::uuid[]) and f.id = u.id and u.domain_id in (select domain_id from stored)),
    states as (
      insert into check_states (tenant_id, domain_id, "check", status, consecutive_unknown, untestable_reported,
                                updated_at)
      select $10::uuid, r.domain_id, r."check", r.status, r.consecutive_unknown, r.untestable_reported, r.now
        from json_to_recordset($4::json) as r(domain_id uuid, "check" text, status text,
             consecutive_unknown integer, untestable_reported boolean, now timestamptz)
       where r.domain_id in (select domain_id from stored)
      on conflict (domain_id, "check") do update
         set status = excluded.status, consecutive_unknown = excluded.consecutive_unknown,
             untestable_reported = excluded.untestable_reported, updated_at = excluded.updated_at),
    posture as (
      insert into posture_history (tenant_id, domain_id, recorded_at, score, grade, partial, run_id)
      select $10::uuid, r.domain_id, r.now, r.score, r.grade, r.partial, r.run_id
        from json_to_recordset($5::json) as r(domain_id uuid, now timestamptz, score smallint,
             grade text, partial boolean, run_id uuid)
       where r.domain_id in (select domain_id from stored)
      on conflict do nothing),
    schedules as (
      update domain_schedules s
         set last_run_at = u.now,
             next_run_at = u.now + make_interval(secs => s.interval_seconds * u.factor)
        from json_to_recordset($6::json) as u(domain_id uuid, family text, now timestamptz, factor float8)
       where s.domain_id = any($9::uuid[]) and s.domain_id = u.domain_id and s.family = u.family
         and u.domain_id in (select domain_id from stored)),
    summaries as (
      update domains d
         set last_checked_at = u.now,
             updated_at = u.now,
             posture_score = case when u.set_posture then u.score else d.posture_score end,
             posture_grade = case when u.set_posture then u.grade else d.posture_grade end,
             verified_at = case when u.verified then u.now else d.verified_at end
        from json_to_recordset($6::json) as u(domain_id uuid, now timestamptz, set_posture boolean,
             score smallint, grade text, verified boolean)
       where d.id = any($9::uuid[]) and d.id = u.domain_id and u.domain_id in (select domain_id from stored)),
    events as (
      insert into monitoring_events (id, tenant_id, domain_id, type, severity, payload, suppressed, occurred_at,
                                     dispatched_at)
      select r.id, $10::uuid, r.domain_id, r.type, r.severity, r.payload, r.suppressed, r.now,
             case when r.dispatched then r.now end
        from jsonb_to_recordset($7::jsonb) as r(id uuid, domain_id uuid, type text, severity text,
             payload jsonb, suppressed text, now timestamptz, dispatched boolean)
       where r.domain_id in (select domain_id from stored))
    select domain_id from stored`,
};

export interface LockedDomain {
  id: string;
  name: string;
  verified_at: Date | null;
  verification_token: string;
  alert_threshold: Severity | null;
  posture_score: number | null;
  posture_grade: string | null;
  tenant_threshold: Severity | null;
  has_endpoints: boolean;
}

/** A stored finding; times as JSON renders them (ISO text), parsed only where a diff needs them. */
export interface FindingRowLoaded {
  id: string;
  domain_id: string;
  family: string;
  check: string;
  fingerprint: string;
  code: string;
  severity: Severity;
  subject: string;
  message: string;
  evidence: Record<string, unknown>;
  state: 'open' | 'resolved';
  first_seen_at: string;
  opened_at: string;
  last_seen_at: string;
  muted_until: string | null;
  acknowledged_at: string | null;
  acknowledged_until: string | null;
}

export interface CheckStateLoaded {
  domain_id: string;
  check: string;
  status: string;
  consecutive_unknown: number;
  untestable_reported: boolean;
  updated_at: string;
}

type FindingTuple = [
  string,
  string,
  string,
  string,
  string,
  string,
  Severity,
  string,
  string,
  Record<string, unknown>,
  'open' | 'resolved',
  string,
  string,
  string,
  string | null,
  string | null,
  string | null,
];
type StateTuple = [string, string, string, number, boolean, string];

export interface RunRow {
  id: string;
  domain_id: string;
  family: string;
  slot: string;
  started_at: string;
  duration_ms: number;
  outcome: string;
  summary: Record<string, unknown>;
  finding_count: number;
  posture_score: number | null;
}

export interface NewFindingRow {
  id: string;
  domain_id: string;
  family: string;
  check: string;
  fingerprint: string;
  code: string;
  severity: Severity;
  subject: string;
  message: string;
  evidence: Record<string, unknown>;
  now: string;
}

/** `seen`: last seen now; `change`: seen with a new severity, message or evidence; `reopen`; `resolve`. */
export interface FindingChangeRow {
  id: string;
  domain_id: string;
  kind: 'seen' | 'change' | 'reopen' | 'resolve';
  now: string;
  severity?: Severity;
  message?: string;
  evidence?: Record<string, unknown>;
}

export interface StateRow {
  domain_id: string;
  check: string;
  status: string;
  consecutive_unknown: number;
  untestable_reported: boolean;
  now: string;
}

export interface PostureRow {
  domain_id: string;
  now: string;
  score: number;
  grade: string;
  partial: boolean;
  run_id: string;
}

/** One row per run: the schedule (domain, family) and the domain's summary columns. */
export interface DomainUpdateRow {
  domain_id: string;
  family: string;
  now: string;
  factor: number;
  set_posture: boolean;
  score: number | null;
  grade: string | null;
  verified: boolean;
}

export interface EventRow {
  id: string;
  domain_id: string;
  type: string;
  severity: Severity | null;
  payload: Record<string, unknown>;
  suppressed: string | null;
  now: string;
  /** Dispatched as written: it alerts, but the tenant has no enabled endpoint to deliver it to. */
  dispatched: boolean;
}

export interface Changes {
  runs: RunRow[];
  newFindings: NewFindingRow[];
  findingChanges: FindingChangeRow[];
  states: StateRow[];
  posture: PostureRow[];
  domains: DomainUpdateRow[];
  events: EventRow[];
}

export async function writeChangesStatement(
  client: TenantClient,
  tenantId: string,
  changes: Changes,
): Promise<Set<string>> {
  const result = await client.query<{ domain_id: string }>({
    ...writeChanges,
    values: [
      JSON.stringify(changes.runs),
      JSON.stringify(changes.newFindings),
      JSON.stringify(changes.findingChanges),
      JSON.stringify(changes.states),
      JSON.stringify(changes.posture),
      JSON.stringify(changes.domains),
      JSON.stringify(changes.events),
      changes.findingChanges.map((c) => c.id),
      changes.domains.map((d) => d.domain_id),
      tenantId,
    ],
  });
  return new Set(result.rows.map((r) => r.domain_id));
}

/** The rows of the load's result sets, in order. */
export function loadedRows(results: readonly pg.QueryResult[]): {
  domains: LockedDomain[];
  findings: FindingRowLoaded[];
  states: CheckStateLoaded[];
  windows: { domain_id: string | null; starts_at: Date; ends_at: Date }[];
} {
  if (results.length !== loadResults) throw new Error('unexpected result sets of the record load');
  const findings = ((results[1]!.rows[0]?.rows ?? []) as FindingTuple[]).map((t) => ({
    id: t[0],
    domain_id: t[1],
    family: t[2],
    check: t[3],
    fingerprint: t[4],
    code: t[5],
    severity: t[6],
    subject: t[7],
    message: t[8],
    evidence: t[9],
    state: t[10],
    first_seen_at: t[11],
    opened_at: t[12],
    last_seen_at: t[13],
    muted_until: t[14],
    acknowledged_at: t[15],
    acknowledged_until: t[16],
  }));
  const states = ((results[2]!.rows[0]?.rows ?? []) as StateTuple[]).map((t) => ({
    domain_id: t[0],
    check: t[1],
    status: t[2],
    consecutive_unknown: t[3],
    untestable_reported: t[4],
    updated_at: t[5],
  }));
  return {
    domains: results[0]!.rows as LockedDomain[],
    findings,
    states,
    windows: results[3]!.rows as { domain_id: string | null; starts_at: Date; ends_at: Date }[],
  };
}
