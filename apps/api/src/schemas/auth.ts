import { Type } from 'typebox';

/**
 * Request and response schemas of the accounts routes. Responses are allow-lists
 * (additionalProperties: false): a field not named here never leaves the server.
 */
const closed = { additionalProperties: false } as const;

export const Email = Type.String({
  format: 'email',
  minLength: 3,
  maxLength: 254,
  examples: ['ann.lee@acme.example'],
});
/** Bounded only to keep a hostile body small; the password rules say what is acceptable. */
export const PasswordInput = Type.String({
  minLength: 1,
  maxLength: 1024,
  examples: ['Vivid-Otter-Quarry-Lantern 7'],
});
export const NewPassword = Type.String({
  minLength: 1,
  maxLength: 1024,
  description:
    'At least 15 characters (more if the tenant says so), at most 256; not a common password; zxcvbn strength >= 3. Passphrases welcome.',
  examples: ['glacier tundra marmalade obelisk'],
});
export const TypedId = (prefix: string) =>
  Type.String({
    pattern: `^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`,
    examples: [`${prefix}_01jf8m3k2x9q7v5t4r6w8y0zab`],
  });
export const Role = Type.Union([
  Type.Literal('owner'),
  Type.Literal('admin'),
  Type.Literal('member'),
  Type.Literal('viewer'),
]);
export const Scope = Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin')]);
const DateTime = Type.String({ format: 'date-time' });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const TenantRef = Type.Object({ id: TypedId('ten'), name: Type.String(), role: Role }, closed);

export const SignedIn = Type.Object(
  {
    status: Type.Literal('authenticated'),
    tokenType: Type.Literal('Bearer'),
    accessToken: Type.String({ description: 'EdDSA JWT (typ at+jwt), valid `expiresIn` seconds' }),
    expiresIn: Type.Integer({ examples: [900] }),
    refreshToken: Type.String({
      description: 'Opaque, single use: each refresh returns a new one',
      examples: ['mwr_…'],
    }),
    sessionId: TypedId('ses'),
    tenant: TenantRef,
    tenants: Type.Array(TenantRef, {
      description: 'Every tenant of the user; switch with POST /v1/auth/switch-tenant',
    }),
    restriction: Type.Union([Type.Literal('mfa_enrolment'), Type.Literal('password_change'), Type.Null()], {
      description: 'When set, only enrolling 2FA or changing the password is allowed until it is done',
    }),
  },
  closed,
);

export const MfaRequired = Type.Object(
  {
    status: Type.Literal('mfa_required'),
    mfaToken: Type.String({ description: 'Good for the second step only, for `expiresIn` seconds, once' }),
    expiresIn: Type.Integer({ examples: [300] }),
  },
  closed,
);

export const LoginResponse = Type.Union([SignedIn, MfaRequired], {
  description:
    'Either signed in, or a second factor is needed: POST /v1/auth/login/totp or /v1/auth/login/recovery-code',
});

export const SignUpResponse = Type.Object(
  {
    user: Type.Object(
      { id: TypedId('usr'), email: Type.String(), displayName: Nullable(Type.String()) },
      closed,
    ),
    ...SignedIn.properties,
  },
  closed,
);

export const MeResponse = Type.Object(
  {
    user: Type.Object(
      {
        id: TypedId('usr'),
        email: Type.String(),
        displayName: Nullable(Type.String()),
        mfaEnabled: Type.Boolean(),
      },
      closed,
    ),
    tenant: TenantRef,
    tenants: Type.Array(TenantRef),
    restriction: SignedIn.properties.restriction,
  },
  closed,
);

export const SessionView = Type.Object(
  {
    id: TypedId('ses'),
    current: Type.Boolean(),
    mfaVerified: Type.Boolean(),
    ip: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    createdAt: DateTime,
    lastSeenAt: DateTime,
    expiresAt: DateTime,
  },
  closed,
);

export const PasswordPolicy = Type.Object(
  {
    minLength: Type.Integer({ minimum: 15, maximum: 128 }),
    requiredClasses: Type.Array(
      Type.Union([
        Type.Literal('lower'),
        Type.Literal('upper'),
        Type.Literal('digit'),
        Type.Literal('symbol'),
      ]),
      { maxItems: 4, uniqueItems: true },
    ),
    maxAgeDays: Type.Integer({
      minimum: 0,
      maximum: 3650,
      description: '0: never expires (the NIST default)',
    }),
    historyCount: Type.Integer({ minimum: 0, maximum: 24, description: '0: reuse allowed' }),
  },
  closed,
);

export const SecuritySettings = Type.Object(
  { requireMfa: Type.Boolean(), passwordPolicy: PasswordPolicy },
  closed,
);

export const TenantView = Type.Object(
  { id: TypedId('ten'), name: Type.String(), createdAt: DateTime, settings: SecuritySettings },
  closed,
);

export const MemberView = Type.Object(
  {
    id: TypedId('mem'),
    userId: TypedId('usr'),
    email: Type.String(),
    displayName: Nullable(Type.String()),
    role: Role,
    joinedAt: DateTime,
  },
  closed,
);

export const InvitationView = Type.Object(
  {
    id: TypedId('inv'),
    email: Type.String(),
    role: Role,
    status: Type.Union([
      Type.Literal('pending'),
      Type.Literal('accepted'),
      Type.Literal('revoked'),
      Type.Literal('expired'),
    ]),
    invitedBy: Nullable(TypedId('usr')),
    createdAt: DateTime,
    expiresAt: DateTime,
  },
  closed,
);

export const ApiKeyView = Type.Object(
  {
    id: TypedId('key'),
    name: Type.String(),
    prefix: Type.String({
      description: 'The first characters of the key, to tell keys apart',
      examples: ['mw_4k8d2qz9'],
    }),
    scopes: Type.Array(Scope),
    createdAt: DateTime,
    createdBy: Nullable(TypedId('usr')),
    expiresAt: Nullable(DateTime),
    lastUsedAt: Nullable(DateTime),
    revokedAt: Nullable(DateTime),
  },
  closed,
);

export const AuditEventView = Type.Object(
  {
    id: TypedId('aud'),
    action: Type.String({ examples: ['auth.login_succeeded', 'api_key.created', 'member.role_changed'] }),
    actor: Type.Object(
      { type: Type.String({ examples: ['user', 'api_key', 'anonymous'] }), id: Nullable(Type.String()) },
      closed,
    ),
    target: Type.Union([Type.Object({ type: Type.String(), id: Type.String() }, closed), Type.Null()]),
    ip: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    details: Type.Record(Type.String(), Type.Unknown()),
    occurredAt: DateTime,
  },
  closed,
);

export const IdParams = (prefix: string) =>
  Type.Object(
    { id: Type.String({ minLength: 1, maxLength: 64, examples: [`${prefix}_01jf8m3k2x9q7v5t4r6w8y0zab`] }) },
    closed,
  );
export const RecoveryCodes = Type.Object(
  {
    recoveryCodes: Type.Array(Type.String({ examples: ['7k2m-9q4x-d8v3-hw6p'] }), {
      description: 'Shown once; each works once',
    }),
  },
  closed,
);
export const Closed = closed;

/**
 * Credential inputs shared by the REST bodies and the GraphQL arguments (the resolvers check
 * their arguments against these very schemas), so both transports refuse the same input alike.
 */
export const TotpCode = Type.String({ pattern: '^[0-9]{6}$', examples: ['492039'] });
export const MfaToken = Type.String({ minLength: 1, maxLength: 4096 });
export const RecoveryCodeInput = Type.String({
  minLength: 16,
  maxLength: 40,
  examples: ['7k2m-9q4x-d8v3-hw6p'],
});
/** A mailed or issued opaque token (`mwp_…`, `mwi_…`, `mwr_…`). */
export const OpaqueToken = (prefix: string) =>
  Type.String({ minLength: 1, maxLength: 256, examples: [`${prefix}_…`] });
export const DisplayName = Type.String({ minLength: 1, maxLength: 100 });
export const TenantName = Type.String({ minLength: 1, maxLength: 100, examples: ['Acme Mail'] });
export const TenantIdInput = Type.String({ minLength: 1, maxLength: 64 });
