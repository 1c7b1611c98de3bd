/**
 * The IMAP mailboxes a tenant's report mail is read from (issue 6 §1c): add, list, show, change,
 * remove, ask for a poll now. A mailbox logs in with a password or with OAuth 2.0 (`oauth2`: a
 * token endpoint, a client and a refresh token, for Microsoft 365 and Google Workspace). The
 * password, the client secret and the refresh token are sealed with the SecretBox under the
 * mailbox id (each with a context of its own) and never handed back; the IMAP host and the token
 * endpoint's host are vetted by the SSRF guard when saved (and again on every poll).
 */
import {
  AppError,
  type Clock,
  decodeId,
  notFound,
  type Resolver,
  type SecretBox,
  uuidv7,
} from '@mailwarden/core';
import {
  type Database,
  type MailboxAfterStore,
  type MailboxAuthKind,
  type MailboxSecurity,
  mailboxAfterStoreActions,
  mailboxAuthKinds,
  mailboxSecurityModes,
  type ReportMailboxRow,
  schema,
  withTenant,
} from '@mailwarden/db';
import { type AllowList, normaliseHost, resolveAndVet } from '@mailwarden/net';
import { asc, eq, sql } from 'drizzle-orm';
import { folderName, invalid, scopeOf, text, tokenUrlOf, vschar } from './report-mailbox-input.ts';
import { type ReportMailboxView, reportMailboxView } from './report-mailbox-view.ts';

export {
  failingAfterConsecutiveFailures,
  mailboxStatus,
  type ReportMailboxStatus,
  type ReportMailboxView,
  reportMailboxView,
} from './report-mailbox-view.ts';

/** A tenant has at most this many report mailboxes. */
export const maxReportMailboxesPerTenant = 10;
export const defaultMoveToFolder = 'Mailwarden/Processed';
/** RFC 8314 §3.2 (implicit TLS) and RFC 9051 §2.1 (143, STARTTLS). */
export const defaultImapPorts: Record<MailboxSecurity, number> = { tls: 993, starttls: 143 };

export function mailboxPasswordContext(mailboxId: string): string {
  return `report-mailbox:${mailboxId}`;
}
/** Contexts of their own: a sealed value cannot be moved into another column and still open. */
export function mailboxClientSecretContext(mailboxId: string): string {
  return `report-mailbox:${mailboxId}:oauth-client-secret`;
}
export function mailboxRefreshTokenContext(mailboxId: string): string {
  return `report-mailbox:${mailboxId}:oauth-refresh-token`;
}

export interface ReportMailboxInput {
  host: string;
  port?: number;
  security: MailboxSecurity;
  username: string;
  /** Default `password`. */
  auth?: MailboxAuthKind;
  /** `password` only. */
  password?: string;
  /** `oauth2` only: the provider's token endpoint (https). */
  tokenUrl?: string;
  clientId?: string;
  /** `oauth2`: left out for a public client; null (in a change) removes it. */
  clientSecret?: string | null;
  refreshToken?: string;
  /** `oauth2`: space-separated scopes sent with each refresh; null (in a change) removes them. */
  scope?: string | null;
  folder?: string;
  afterStore?: MailboxAfterStore;
  moveTo?: string;
  enabled?: boolean;
  description?: string;
}

export type ReportMailboxPatch = Partial<ReportMailboxInput>;

/** The `oauth2` fields; any of them on a `password` mailbox is refused. */
const oauthFields = ['tokenUrl', 'clientId', 'clientSecret', 'refreshToken', 'scope'] as const;

export interface ReportMailboxesDeps {
  db: Database;
  clock: Clock;
  box: SecretBox;
  /** How a host is vetted on save: the same resolver and allow-list the poller uses. */
  vet: { resolver: Pick<Resolver, 'query'>; allow: AllowList };
}

export function createReportMailboxesService(deps: ReportMailboxesDeps) {
  const { db, clock, box } = deps;
  const { reportMailboxes } = schema;

  function idOf(typedId: string): string {
    const id = decodeId('mbx', typedId);
    if (!id) throw notFound('report mailbox', typedId);
    return id;
  }

  async function vetHost(raw: string, location = 'body.host'): Promise<string> {
    const host = normaliseHost(text(location, raw, 253));
    const vetted = await resolveAndVet(host, deps.vet);
    if (!vetted.ok) {
      const message = `host refused (${vetted.reason}): ${vetted.detail}`;
      throw new AppError('mailbox_host_refused', {
        detail: message,
        errors: [{ location, message }],
        extensions: { reason: vetted.reason, retryable: vetted.reason === 'dns_unknown' },
      });
    }
    return vetted.host;
  }

  /** The token endpoint, its host vetted like the IMAP host (the worker posts secrets to it). */
  async function vetTokenUrl(raw: string): Promise<string> {
    const u = tokenUrlOf(raw);
    await vetHost(u.hostname.replace(/^\[|\]$/g, ''), 'body.tokenUrl');
    return u.toString();
  }

  function check(input: ReportMailboxPatch, current?: ReportMailboxRow) {
    if (input.security !== undefined && !mailboxSecurityModes.includes(input.security))
      throw invalid('body.security', `must be one of ${mailboxSecurityModes.join(', ')}`);
    if (input.afterStore !== undefined && !mailboxAfterStoreActions.includes(input.afterStore))
      throw invalid('body.afterStore', `must be one of ${mailboxAfterStoreActions.join(', ')}`);
    if (input.auth !== undefined && !mailboxAuthKinds.includes(input.auth))
      throw invalid('body.auth', `must be one of ${mailboxAuthKinds.join(', ')}`);
    if (input.port !== undefined && (!Number.isInteger(input.port) || input.port < 1 || input.port > 65_535))
      throw invalid('body.port', 'must be an integer from 1 to 65535');
    const username = input.username === undefined ? undefined : text('body.username', input.username, 320);
    const password = input.password === undefined ? undefined : text('body.password', input.password, 1024);
    const folder = input.folder === undefined ? undefined : folderName('body.folder', input.folder);
    const moveTo = input.moveTo === undefined ? undefined : folderName('body.moveTo', input.moveTo);
    const description =
      input.description === undefined
        ? undefined
        : text('body.description', input.description, 500, { allowEmpty: true });
    // Moving into the folder that is read would store every message again on every poll.
    const finalFolder = folder ?? current?.folder ?? 'INBOX';
    const finalMoveTo = moveTo ?? current?.moveTo ?? defaultMoveToFolder;
    const afterStore = input.afterStore ?? current?.afterStore ?? 'move';
    if (afterStore === 'move' && finalFolder.toLowerCase() === finalMoveTo.toLowerCase())
      throw invalid('body.moveTo', 'must not be the folder that is read');

    // Each kind takes its own fields only; switching kind (or creating) needs all of the new kind's.
    const auth = input.auth ?? current?.auth ?? 'password';
    const switching = current?.auth !== auth;
    if (auth === 'password') {
      for (const field of oauthFields)
        if (input[field] !== undefined) throw invalid(`body.${field}`, 'is only for auth oauth2');
      if (switching && password === undefined) throw invalid('body.password', 'is required');
    } else {
      if (password !== undefined) throw invalid('body.password', 'is only for auth password');
      if (switching)
        for (const field of ['tokenUrl', 'clientId', 'refreshToken'] as const)
          if (input[field] === undefined || input[field] === null)
            throw invalid(`body.${field}`, 'is required');
    }
    const clientId = input.clientId == null ? undefined : vschar('body.clientId', input.clientId, 512);
    const clientSecret =
      input.clientSecret == null ? input.clientSecret : vschar('body.clientSecret', input.clientSecret, 1024);
    const refreshToken =
      input.refreshToken == null ? undefined : vschar('body.refreshToken', input.refreshToken, 16 * 1024);
    const scope = input.scope == null ? input.scope : scopeOf(input.scope);
    return {
      username,
      password,
      folder,
      moveTo,
      description,
      auth,
      switching,
      clientId,
      clientSecret,
      refreshToken,
      scope,
    };
  }

  /** The columns of the login kind: the kind's given fields, and the other kind's secrets gone. */
  function loginColumns(id: string, checked: ReturnType<typeof check>, tokenUrl: string | undefined) {
    if (checked.auth === 'password')
      return {
        ...(checked.switching ? { auth: 'password' as const } : {}),
        ...(checked.password !== undefined
          ? { passwordCiphertext: box.seal(checked.password, mailboxPasswordContext(id)) }
          : {}),
        ...(checked.switching
          ? {
              oauthTokenUrl: null,
              oauthClientId: null,
              oauthClientSecretCiphertext: null,
              oauthRefreshTokenCiphertext: null,
              oauthScope: null,
            }
          : {}),
      };
    return {
      ...(checked.switching ? { auth: 'oauth2' as const, passwordCiphertext: null } : {}),
      ...(tokenUrl !== undefined ? { oauthTokenUrl: tokenUrl } : {}),
      ...(checked.clientId !== undefined ? { oauthClientId: checked.clientId } : {}),
      ...(checked.clientSecret !== undefined
        ? {
            oauthClientSecretCiphertext:
              checked.clientSecret === null
                ? null
                : box.seal(checked.clientSecret, mailboxClientSecretContext(id)),
          }
        : {}),
      ...(checked.refreshToken !== undefined
        ? { oauthRefreshTokenCiphertext: box.seal(checked.refreshToken, mailboxRefreshTokenContext(id)) }
        : {}),
      ...(checked.scope !== undefined ? { oauthScope: checked.scope } : {}),
    };
  }

  async function load(tenantId: string, id: string, typedId: string): Promise<ReportMailboxRow> {
    const [row] = await withTenant(db, tenantId, (tx) =>
      tx.select().from(reportMailboxes).where(eq(reportMailboxes.id, id)),
    );
    if (!row) throw notFound('report mailbox', typedId);
    return row;
  }

  return {
    async create(tenantId: string, input: ReportMailboxInput): Promise<ReportMailboxView> {
      const checked = check(input);
      if (!checked.username) throw invalid('body.username', 'is required');
      const host = await vetHost(input.host);
      const tokenUrl = input.tokenUrl != null ? await vetTokenUrl(input.tokenUrl) : undefined;
      const now = clock.now();
      const id = uuidv7(now.getTime());
      const row = await withTenant(db, tenantId, async (tx) => {
        const existing = await tx
          .select({ id: reportMailboxes.id })
          .from(reportMailboxes)
          .limit(maxReportMailboxesPerTenant);
        if (existing.length >= maxReportMailboxesPerTenant)
          throw new AppError('quota_exceeded', {
            detail: `a tenant has at most ${maxReportMailboxesPerTenant} report mailboxes`,
            extensions: { quota: 'report_mailboxes', limit: maxReportMailboxesPerTenant },
          });
        const [created] = await tx
          .insert(reportMailboxes)
          .values({
            id,
            tenantId,
            host,
            port: input.port ?? defaultImapPorts[input.security],
            security: input.security,
            username: checked.username!,
            ...loginColumns(id, checked, tokenUrl),
            folder: checked.folder ?? 'INBOX',
            afterStore: input.afterStore ?? 'move',
            moveTo: checked.moveTo ?? defaultMoveToFolder,
            enabled: input.enabled ?? true,
            description: checked.description ?? '',
            // Polled at the next tick: the tenant sees at once whether the settings work.
            nextPollAt: now,
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        return created!;
      });
      return reportMailboxView(row);
    },

    async list(tenantId: string): Promise<ReportMailboxView[]> {
      const rows = await withTenant(db, tenantId, (tx) =>
        tx
          .select()
          .from(reportMailboxes)
          .orderBy(asc(reportMailboxes.id))
          .limit(maxReportMailboxesPerTenant * 2),
      );
      return rows.map(reportMailboxView);
    },

    async get(tenantId: string, typedId: string): Promise<ReportMailboxView> {
      return reportMailboxView(await load(tenantId, idOf(typedId), typedId));
    },

    /**
     * Changes settings; a new host, port, security, user name, login (password or OAuth field) or
     * folder is polled at the next tick with its failure streak cleared, so a fixed setting shows
     * its result at once. A change of `auth` needs the new kind's fields and drops the old kind's
     * secrets.
     */
    async update(tenantId: string, typedId: string, input: ReportMailboxPatch): Promise<ReportMailboxView> {
      const id = idOf(typedId);
      const current = await load(tenantId, id, typedId);
      const checked = check(input, current);
      const host = input.host !== undefined ? await vetHost(input.host) : undefined;
      const tokenUrl = input.tokenUrl != null ? await vetTokenUrl(input.tokenUrl) : undefined;
      const connectionChanged =
        host !== undefined ||
        input.port !== undefined ||
        input.security !== undefined ||
        checked.username !== undefined ||
        checked.password !== undefined ||
        checked.switching ||
        oauthFields.some((field) => input[field] !== undefined) ||
        checked.folder !== undefined ||
        input.afterStore !== undefined ||
        checked.moveTo !== undefined ||
        input.enabled === true;
      const now = clock.now();
      const [row] = await withTenant(db, tenantId, (tx) =>
        tx
          .update(reportMailboxes)
          .set({
            ...(host !== undefined ? { host } : {}),
            ...(input.security !== undefined ? { security: input.security } : {}),
            // A new security mode without a port takes that mode's port.
            ...(input.port !== undefined
              ? { port: input.port }
              : input.security !== undefined && input.security !== current.security
                ? { port: defaultImapPorts[input.security] }
                : {}),
            ...(checked.username !== undefined ? { username: checked.username } : {}),
            ...loginColumns(id, checked, tokenUrl),
            ...(checked.folder !== undefined ? { folder: checked.folder } : {}),
            ...(input.afterStore !== undefined ? { afterStore: input.afterStore } : {}),
            ...(checked.moveTo !== undefined ? { moveTo: checked.moveTo } : {}),
            ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
            ...(checked.description !== undefined ? { description: checked.description } : {}),
            ...(connectionChanged ? { nextPollAt: now, consecutiveFailures: 0 } : {}),
            updatedAt: now,
          })
          .where(eq(reportMailboxes.id, id))
          .returning(),
      );
      if (!row) throw notFound('report mailbox', typedId);
      return reportMailboxView(row);
    },

    async remove(tenantId: string, typedId: string): Promise<void> {
      const id = idOf(typedId);
      const removed = await withTenant(db, tenantId, (tx) =>
        tx.delete(reportMailboxes).where(eq(reportMailboxes.id, id)).returning({ id: reportMailboxes.id }),
      );
      if (removed.length === 0) throw notFound('report mailbox', typedId);
    },

    /**
     * Marks the mailbox due now and returns its uuid for the caller to enqueue a poll job; if that
     * job is lost, the next tick polls it anyway. A disabled mailbox is not polled.
     */
    async requestPoll(tenantId: string, typedId: string): Promise<string> {
      const id = idOf(typedId);
      const row = await load(tenantId, id, typedId);
      if (!row.enabled) throw invalid('params.id', 'the mailbox is disabled; enable it first');
      await withTenant(db, tenantId, (tx) =>
        tx
          .update(reportMailboxes)
          .set({
            nextPollAt: sql`least(${reportMailboxes.nextPollAt}, ${clock.now().toISOString()}::timestamptz)`,
          })
          .where(eq(reportMailboxes.id, id)),
      );
      return id;
    },
  };
}

export type ReportMailboxesService = ReturnType<typeof createReportMailboxesService>;

/**
 * Report mailboxes due for a poll, across tenants, through the definer function of migration 0011
 * (decision 0004): ids only.
 */
export async function dueReportMailboxes(
  db: Database,
  now: Date,
  limit = 1_000,
): Promise<{ tenantId: string; mailboxId: string }[]> {
  const result = await db.execute<{ tenant_id: string; mailbox_id: string }>(
    sql`select tenant_id, mailbox_id from mailwarden_due_report_mailboxes(${now.toISOString()}::timestamptz, ${limit})`,
  );
  return result.rows.map((r) => ({ tenantId: r.tenant_id, mailboxId: r.mailbox_id }));
}
