// Sessions of signed-in officials: a random id the browser holds, stored only as its SHA-256,
// bound to one principal, with an idle and an absolute expiry, revocable at any time. Password
// plus TOTP is an AAL2 sign-in in NIST SP 800-63B terms, so the AAL2 limits apply.
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../store/index.ts';
import { AccessError } from './errors.ts';
import { clock, sha256Hex, toRecord } from './principal.ts';
import type { AccessStore } from './principal.ts';
import type { Principal, PrincipalId } from './role.ts';
import type { AccessTables } from './schema.ts';

/** Prefix of session ids, so that they are told from API tokens at a glance. */
export const SESSION_PREFIX = 'vs_';
/** Random bytes of a session id. */
export const SESSION_BYTES = 32;

/**
 * Minutes without a request after which a session ends.
 * SPEC: https://pages.nist.gov/800-63-3/sp800-63b.html#aal2reauth "Reauthentication of the
 * subscriber SHALL be repeated following any period of inactivity lasting 30 minutes or longer."
 */
export const SESSION_IDLE_MINUTES = 30;

/**
 * Hours after sign-in at which a session ends whatever the activity.
 * SPEC: https://pages.nist.gov/800-63-3/sp800-63b.html#aal2reauth "At AAL2, authentication of the
 * subscriber SHALL be repeated at least once per 12 hours during an extended usage session,
 * regardless of user activity."
 */
export const SESSION_ABSOLUTE_HOURS = 12;

const MINUTE_MS = 60_000;
/** `vs_` and 43 base64url characters. */
const SESSION_TEXT = /^vs_[A-Za-z0-9_-]{43}$/;

/** A valid session. */
export interface SessionInfo {
  readonly principal: Principal;
  /** When the session ends at the latest (absolute expiry). */
  readonly expiresAt: string;
}

/**
 * Starts a session for `principal` at `now`; returns the id to hand to the browser once.
 * Joins the caller's transaction when `q` is one.
 */
export async function startSession(
  q: Queryable<AccessTables>,
  principal: PrincipalId,
  now: Date,
): Promise<{ readonly session: string; readonly expiresAt: string }> {
  const session = `${SESSION_PREFIX}${randomBytes(SESSION_BYTES).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + SESSION_ABSOLUTE_HOURS * 60 * MINUTE_MS).toISOString();
  await q.db
    .insertInto('access_session')
    .values({
      session_hash: sha256Hex(session),
      principal_id: principal,
      created_at: now.toISOString(),
      last_seen_at: now.toISOString(),
      expires_at: expiresAt,
      revoked_at: null,
    })
    .execute();
  return { session, expiresAt };
}

/**
 * The principal of a session, and marks the session used now (restarting its idle time).
 * Attacker-controlled: the id comes from a cookie; it is checked against the session shape before
 * it is hashed, and unknown, revoked, idle, expired and disabled all get the same error.
 * @throws AccessError SESSION_INVALID; CREDENTIAL_CORRUPT when the stored principal is malformed
 */
export async function authenticateSession(
  store: AccessStore,
  session: string,
): Promise<SessionInfo> {
  if (!SESSION_TEXT.test(session)) throw invalidSession();
  const hash = sha256Hex(session);
  const row = await store.q.db
    .selectFrom('access_session as s')
    .innerJoin('access_principal as p', 'p.principal_id', 's.principal_id')
    .select([
      's.last_seen_at',
      's.expires_at',
      's.revoked_at',
      'p.principal_id',
      'p.name',
      'p.role',
      'p.scope',
      'p.created_at',
      'p.disabled_at',
    ])
    .where('s.session_hash', '=', hash)
    .executeTakeFirst();
  const now = clock(store);
  if (
    row === undefined ||
    row.revoked_at !== null ||
    row.expires_at <= now.toISOString() ||
    Date.parse(row.last_seen_at) + SESSION_IDLE_MINUTES * MINUTE_MS <= now.getTime()
  ) {
    throw invalidSession();
  }
  const record = toRecord(row);
  if (record.disabled) throw invalidSession();
  await store.q.db
    .updateTable('access_session')
    .set({ last_seen_at: now.toISOString() })
    .where('session_hash', '=', hash)
    .where('last_seen_at', '<', now.toISOString())
    .execute();
  return {
    principal: { id: record.id, name: record.name, role: record.role, scope: record.scope },
    expiresAt: row.expires_at,
  };
}

/**
 * Ends a session (sign-out). An unknown or malformed id is ignored: signing out always succeeds.
 */
export async function revokeSession(store: AccessStore, session: string): Promise<void> {
  if (!SESSION_TEXT.test(session)) return;
  await store.q.db
    .updateTable('access_session')
    .set({ revoked_at: clock(store).toISOString() })
    .where('session_hash', '=', sha256Hex(session))
    .where('revoked_at', 'is', null)
    .execute();
}

function invalidSession(): AccessError {
  return new AccessError(
    'SESSION_INVALID',
    'Cannot authenticate: the session is unknown, ended or expired (sign in again)',
  );
}
