import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The API's JWT signing keys (docs/decisions/0003). The private key is AES-256-GCM ciphertext under
 * ENCRYPTION_KEY; the public JWK is published at /.well-known/jwks.json from `published_at` (before
 * the key signs anything) until `retires_at` (after the last token it signed has expired).
 */
export const signingKeys = pgTable(
  'signing_keys',
  {
    kid: text('kid').primaryKey(),
    /** Which key set (access tokens today); each rotates on its own. Tests use sets of their own. */
    keyset: text('keyset').notNull(),
    algorithm: text('algorithm').notNull(),
    publicJwk: jsonb('public_jwk').$type<Record<string, unknown>>().notNull(),
    privateKeyCiphertext: text('private_key_ciphertext').notNull(),
    publishedAt: timestamp('published_at', { withTimezone: true }).notNull(),
    /** Signs from this instant until a newer key activates. */
    activatesAt: timestamp('activates_at', { withTimezone: true }).notNull(),
    /** Set once a newer key is active: no longer published after this instant. */
    retiresAt: timestamp('retires_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('signing_keys_keyset_idx').on(t.keyset, t.activatesAt)],
);

export type SigningKeyRow = typeof signingKeys.$inferSelect;
