import type { schema } from '@mailwarden/db';

/** Row and enum types of the tables this library works on, named once. */
export type Role = schema.Role;
export type ApiKeyScope = schema.ApiKeyScope;
export type AuditActorType = schema.AuditActorType;
export type ApiKeyRow = schema.ApiKeyRow;
export type AuditEventRow = schema.AuditEventRow;
export type SigningKeyRow = schema.SigningKeyRow;
export type InvitationRow = schema.InvitationRow;
export type TenantSettingsRow = schema.TenantSettingsRow;
