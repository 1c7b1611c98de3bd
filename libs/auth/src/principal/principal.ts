import { AppError, encodeId } from '@mailwarden/core';
import type { ApiKeyScope, AuditActorType, Role } from '../db-types.ts';

/**
 * Who is calling, resolved once per request from an access token or an API key (DESIGN.md §2).
 * Every service takes it first and reads the tenant from it, never from the request.
 */
export interface Principal {
  tenantId: string;
  /** Typed id of the actor: `usr_…` or `key_…`. */
  actorId: string;
  actorType: 'user' | 'api_key';
  role: Role;
  scopes: ApiKeyScope[];
  /** Set for users. */
  userId: string | null;
  sessionId: string | null;
  /** Set for API keys. */
  apiKeyId: string | null;
  /** The session presented a second factor (or enrolled one). */
  mfaVerified: boolean;
  /**
   * A session that may only fix something first: enrol 2FA (the tenant requires it) or change an
   * expired password. Only routes marked for it accept such a principal.
   */
  restriction: 'mfa_enrolment' | 'password_change' | null;
}

export interface UserPrincipal extends Principal {
  actorType: 'user';
  userId: string;
  sessionId: string;
}

export function requireUser(principal: Principal): UserPrincipal {
  if (principal.actorType !== 'user' || !principal.userId || !principal.sessionId) {
    throw new AppError('forbidden', { detail: 'only a signed-in person may do this, not an API key' });
  }
  return principal as UserPrincipal;
}

/** Refuses a restricted session everywhere but the routes that lift the restriction. */
export function assertUnrestricted(principal: Principal): void {
  if (principal.restriction === 'mfa_enrolment') {
    throw new AppError('mfa_enrolment_required', {
      detail: 'enrol an authenticator at POST /v1/auth/totp/enrolment, then confirm it',
    });
  }
  if (principal.restriction === 'password_change') {
    throw new AppError('password_change_required', {
      detail: 'change the password at POST /v1/auth/password/change first',
    });
  }
}

export interface AuditActor {
  type: AuditActorType;
  id: string | null;
}

export function actorOf(principal: Principal): AuditActor {
  return { type: principal.actorType, id: principal.actorId };
}

export function userActor(userId: string): AuditActor {
  return { type: 'user', id: encodeId('usr', userId) };
}
