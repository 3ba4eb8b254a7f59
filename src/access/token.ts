// API tokens: 32 random bytes shown once as `vv_<base64url>`, stored only as their SHA-256, each
// limited to a list of actions and a scope within its API client's, and each expiring. A stolen
// database gives no usable token: SHA-256 of 256 random bits cannot be reversed or guessed.
import { randomBytes } from 'node:crypto';
import { withTransaction } from '../store/index.ts';
import { AccessError } from './errors.ts';
import { clock, logChange, requirePrincipal, sha256Hex, toRecord } from './principal.ts';
import type { AccessStore, ChangeContext } from './principal.ts';
import { ACCESS_POLICY, ACTIONS } from './role.ts';
import type { Action, Principal } from './role.ts';
import { formatStoredScope, parseStoredScope, scopeWithin, scopeWords } from './scope.ts';
import type { Scope } from './scope.ts';

/** Prefix of every API token, so that secret scanners and people can recognise one. */
export const TOKEN_PREFIX = 'vv_';
/** Random bytes of a token: 256 bits, beyond any guessing. */
export const TOKEN_BYTES = 32;
/** Lifetime of a token when none is asked: a quarter, so forgotten tokens die on their own. */
export const DEFAULT_TOKEN_LIFETIME_DAYS = 90;
/** Longest lifetime a token may have: a year and a day, so every token is renewed yearly. */
export const MAX_TOKEN_LIFETIME_DAYS = 366;

const DAY_MS = 86_400_000;
/** `vv_` and 43 base64url characters (32 bytes without padding). */
const TOKEN_TEXT = /^vv_[A-Za-z0-9_-]{43}$/;

/** Input of {@link issueToken}. */
export interface TokenRequest {
  /** The API client's name. */
  readonly name: string;
  /** Actions the token may take: a non-empty subset of the api-client role's. */
  readonly actions: readonly Action[];
  /** Scope of the token, within the client's; the client's when absent. */
  readonly scope?: Scope;
  /** When the token stops working; {@link DEFAULT_TOKEN_LIFETIME_DAYS} from now when absent. */
  readonly expiresAt?: Date;
  readonly by: ChangeContext;
}

/** A new token: give `token` to the client once; it is stored nowhere. */
export interface IssuedToken {
  readonly token: string;
  /** Public id, for listing and revoking; also what the log records. */
  readonly tokenId: string;
  readonly expiresAt: string;
  readonly scope: Scope;
  readonly actions: readonly Action[];
}

/**
 * Issues an API token to an API client. The issue is logged (with the token's public id) in the
 * same transaction.
 * @throws AccessError PRINCIPAL_NOT_FOUND, PRINCIPAL_DISABLED, ROLE_INVALID (an official: they
 *   sign in), TOKEN_REQUEST_INVALID (actions or expiry), SCOPE_INVALID (wider than the
 *   client's), ACCESS_LOG_FAILED (no token is issued)
 */
export async function issueToken(store: AccessStore, request: TokenRequest): Promise<IssuedToken> {
  const now = clock(store);
  const expiresAt =
    request.expiresAt ?? new Date(now.getTime() + DEFAULT_TOKEN_LIFETIME_DAYS * DAY_MS);
  if (
    !(expiresAt.getTime() > now.getTime()) ||
    expiresAt.getTime() > now.getTime() + MAX_TOKEN_LIFETIME_DAYS * DAY_MS
  ) {
    throw new AccessError(
      'TOKEN_REQUEST_INVALID',
      `Cannot issue token: it must expire after now and within ${MAX_TOKEN_LIFETIME_DAYS} days`,
    );
  }
  const allowed = ACCESS_POLICY['api-client'].actions;
  const actions = ACTIONS.filter((action) => request.actions.includes(action));
  if (actions.length === 0 || actions.some((action) => allowed[action] === undefined)) {
    throw new AccessError(
      'TOKEN_REQUEST_INVALID',
      `Cannot issue token: actions must be one or more of ${Object.keys(allowed).join(', ')}`,
    );
  }
  const token = `${TOKEN_PREFIX}${randomBytes(TOKEN_BYTES).toString('base64url')}`;
  const tokenId = randomBytes(8).toString('hex');
  const created = now.toISOString();
  return withTransaction(
    store.q,
    async (tx) => {
      const client = await requirePrincipal(tx, request.name);
      if (client.role !== 'api-client') {
        throw new AccessError(
          'ROLE_INVALID',
          `Cannot issue a token to "${client.name}": role "${client.role}" signs in instead`,
        );
      }
      if (client.disabled) {
        throw new AccessError(
          'PRINCIPAL_DISABLED',
          `Cannot issue a token to "${client.name}": the principal is disabled`,
        );
      }
      const scope = request.scope ?? client.scope;
      if (!scopeWithin(scope, client.scope)) {
        throw new AccessError(
          'SCOPE_INVALID',
          `Cannot issue token with scope "${scopeWords(scope).join(' ')}": wider than the client's`,
        );
      }
      await tx.db
        .insertInto('access_token')
        .values({
          token_hash: sha256Hex(token),
          token_id: tokenId,
          principal_id: client.id,
          scope: formatStoredScope(scope),
          actions: JSON.stringify(actions),
          created_at: created,
          expires_at: expiresAt.toISOString(),
          revoked_at: null,
        })
        .execute();
      await logChange(request.by, 'token-issued', { ...client, scope }, created, tokenId);
      return { token, tokenId, expiresAt: expiresAt.toISOString(), scope, actions };
    },
    { maxAttempts: 1 },
  );
}

/**
 * The principal a token stands for: the API client, with the token's scope and actions.
 * Attacker-controlled: the text is checked against the token shape before it is hashed; unknown,
 * revoked and expired tokens and disabled clients get the same error.
 * @throws AccessError TOKEN_INVALID; CREDENTIAL_CORRUPT when the stored row is malformed
 */
export async function authenticateToken(store: AccessStore, token: string): Promise<Principal> {
  if (!TOKEN_TEXT.test(token)) throw invalidToken();
  const row = await store.q.db
    .selectFrom('access_token as t')
    .innerJoin('access_principal as p', 'p.principal_id', 't.principal_id')
    .select([
      't.scope as token_scope',
      't.actions',
      't.expires_at',
      't.revoked_at',
      'p.principal_id',
      'p.name',
      'p.role',
      'p.scope',
      'p.created_at',
      'p.disabled_at',
    ])
    .where('t.token_hash', '=', sha256Hex(token))
    .executeTakeFirst();
  const now = clock(store).toISOString();
  if (row === undefined || row.revoked_at !== null || row.expires_at <= now) throw invalidToken();
  const client = toRecord(row);
  if (client.disabled || client.role !== 'api-client') throw invalidToken();
  return {
    id: client.id,
    name: client.name,
    role: client.role,
    scope: parseStoredScope(row.token_scope),
    actions: parseActions(row.actions),
  };
}

/**
 * Revokes a token by its public id; revoking a revoked token changes nothing and logs nothing.
 * @throws AccessError TOKEN_INVALID when no token has that id; ACCESS_LOG_FAILED (the token
 *   stays valid)
 */
export async function revokeToken(
  store: AccessStore,
  request: { readonly tokenId: string; readonly by: ChangeContext },
): Promise<void> {
  const now = clock(store).toISOString();
  await withTransaction(
    store.q,
    async (tx) => {
      const row = await tx.db
        .selectFrom('access_token as t')
        .innerJoin('access_principal as p', 'p.principal_id', 't.principal_id')
        .select([
          't.scope as token_scope',
          't.revoked_at',
          'p.principal_id',
          'p.name',
          'p.role',
          'p.scope',
          'p.created_at',
          'p.disabled_at',
        ])
        .where('t.token_id', '=', request.tokenId)
        .executeTakeFirst();
      if (row === undefined) throw invalidToken();
      if (row.revoked_at !== null) return;
      await tx.db
        .updateTable('access_token')
        .set({ revoked_at: now })
        .where('token_id', '=', request.tokenId)
        .execute();
      const client = { ...toRecord(row), scope: parseStoredScope(row.token_scope) };
      await logChange(request.by, 'token-revoked', client, now, request.tokenId);
    },
    { maxAttempts: 1 },
  );
}

/**
 * Revokes every live token of an API client (before issuing a replacement), logging each.
 * @throws AccessError PRINCIPAL_NOT_FOUND, ACCESS_LOG_FAILED (no token is revoked)
 */
export async function revokeTokensOf(
  store: AccessStore,
  request: { readonly name: string; readonly by: ChangeContext },
): Promise<number> {
  return withTransaction(
    store.q,
    async (tx) => {
      const client = await requirePrincipal(tx, request.name);
      const rows = await tx.db
        .selectFrom('access_token')
        .select('token_id')
        .where('principal_id', '=', client.id)
        .where('revoked_at', 'is', null)
        .orderBy('token_id')
        .execute();
      for (const row of rows) {
        await revokeToken({ ...store, q: tx }, { tokenId: row.token_id, by: request.by });
      }
      return rows.length;
    },
    { maxAttempts: 1 },
  );
}

function parseActions(text: string): readonly Action[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((item) => (ACTIONS as readonly unknown[]).includes(item))
  ) {
    throw new AccessError('CREDENTIAL_CORRUPT', 'Cannot read token: its actions are malformed');
  }
  return value as Action[];
}

function invalidToken(): AccessError {
  return new AccessError(
    'TOKEN_INVALID',
    'Cannot authenticate: the token is unknown, revoked or expired',
  );
}
