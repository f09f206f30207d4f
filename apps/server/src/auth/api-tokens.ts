import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { AppError } from '@malpipe/core';
import { RoleSchema, type Role, type Token } from '@malpipe/api-client';
import type { Database } from '../database/database.js';
import type { TokenRow } from '../database/schema.js';

/**
 * API tokens: `mp_` + 32 random bytes (base64url). Only the SHA-256 of a secret is stored, so a leaked
 * database does not leak usable tokens; lookups go through the unique `token_hash` index.
 */

export const TOKEN_PREFIX = 'mp_';
const TOKEN_BYTES = 32;
/** last_used_at is refreshed at most this often, so reads do not turn into one write each. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** An authenticated caller, as the HTTP layer sees it. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly role: Role;
  readonly rateLimitPerMinute: number | null;
}

export interface NewToken {
  readonly name: string;
  readonly role: Role;
  readonly rateLimitPerMinute?: number | null | undefined;
}

export function generateTokenSecret(): string {
  return `${TOKEN_PREFIX}${randomBytes(TOKEN_BYTES).toString('base64url')}`;
}

export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function toApiToken(row: TokenRow): Token {
  return {
    id: row.id,
    name: row.name,
    role: RoleSchema.parse(row.role),
    rateLimitPerMinute: row.rate_limit_per_minute,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** Creates a token; `secret` lets the operator choose it (MALPIPE_ADMIN_TOKEN), otherwise one is generated. */
export async function createApiToken(
  db: Database,
  input: NewToken,
  options: { readonly secret?: string; readonly now?: Date } = {},
): Promise<{ readonly token: Token; readonly secret: string }> {
  const secret = options.secret ?? generateTokenSecret();
  const row: TokenRow = {
    id: randomUUID(),
    name: input.name,
    role: RoleSchema.parse(input.role),
    token_hash: hashTokenSecret(secret),
    rate_limit_per_minute: input.rateLimitPerMinute ?? null,
    created_at: (options.now ?? new Date()).toISOString(),
    last_used_at: null,
    revoked_at: null,
  };
  try {
    await db.insertInto('api_tokens').values(row).execute();
  } catch (error) {
    throw new AppError('CONFLICT', 'a token with this secret already exists', { cause: error });
  }
  return { token: toApiToken(row), secret };
}

export async function listApiTokens(db: Database): Promise<Token[]> {
  const rows = await db
    .selectFrom('api_tokens')
    .selectAll()
    .orderBy('created_at', 'asc')
    .orderBy('id', 'asc')
    .execute();
  return rows.map(toApiToken);
}

/** Marks the token revoked (idempotent: revoking twice keeps the first time). Throws NOT_FOUND. */
export async function revokeApiToken(db: Database, id: string, now: Date = new Date()): Promise<Token> {
  await db
    .updateTable('api_tokens')
    .set({ revoked_at: now.toISOString() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
  const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) throw new AppError('NOT_FOUND', `no token with id ${id}`);
  return toApiToken(row);
}

/**
 * Resolves a bearer secret to its principal, or null for unknown and revoked tokens. The row is found by
 * its hash; the final comparison is constant-time anyway so response timing says nothing about stored hashes.
 */
export async function authenticateToken(
  db: Database,
  secret: string,
  now: Date = new Date(),
): Promise<Principal | null> {
  // No prefix check: an operator-chosen MALPIPE_ADMIN_TOKEN need not start with mp_.
  if (secret.length === 0 || secret.length > 512) return null;
  const hash = hashTokenSecret(secret);
  const row = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
  if (row === undefined || row.revoked_at !== null) return null;
  if (!timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return null;
  const role = RoleSchema.safeParse(row.role);
  if (!role.success) return null;
  if (row.last_used_at === null || now.getTime() - Date.parse(row.last_used_at) >= LAST_USED_RESOLUTION_MS) {
    await db
      .updateTable('api_tokens')
      .set({ last_used_at: now.toISOString() })
      .where('id', '=', row.id)
      .execute();
  }
  return { tokenId: row.id, name: row.name, role: role.data, rateLimitPerMinute: row.rate_limit_per_minute };
}

export interface AdminTokenLog {
  /** Receives the one-time message carrying a generated secret (stderr in main.ts). */
  readonly printOnce: (message: string) => void;
  readonly info?: (message: string) => void;
}

/**
 * On first start (no active admin token in the database): registers `config.adminToken` if set, else
 * generates an admin token and prints it once. Returns the generated secret, or null when nothing was created
 * or the secret came from the configuration.
 */
export async function ensureAdminToken(
  db: Database,
  config: { readonly adminToken: string | null },
  log: AdminTokenLog,
): Promise<string | null> {
  const existing = await db
    .selectFrom('api_tokens')
    .select('id')
    .where('role', '=', 'admin')
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (existing !== undefined) return null;
  if (config.adminToken !== null) {
    const known = await db
      .selectFrom('api_tokens')
      .select('id')
      .where('token_hash', '=', hashTokenSecret(config.adminToken))
      .executeTakeFirst();
    if (known !== undefined) {
      throw new AppError(
        'CONFIG_INVALID',
        'MALPIPE_ADMIN_TOKEN matches a revoked or non-admin token; choose another secret',
      );
    }
    await createApiToken(
      db,
      { name: 'admin (MALPIPE_ADMIN_TOKEN)', role: 'admin' },
      { secret: config.adminToken },
    );
    log.info?.('admin token registered from MALPIPE_ADMIN_TOKEN');
    return null;
  }
  const { secret } = await createApiToken(db, { name: 'admin (first start)', role: 'admin' });
  log.printOnce(`malpipe: created the first admin token (shown only once, store it now):\n  ${secret}\n`);
  return secret;
}
