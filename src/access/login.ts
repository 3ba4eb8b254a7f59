// Sign-in of officials: name, password and TOTP code, with failure limits per account and per
// client address, and one answer for every failure. An unknown name, a wrong password, a wrong or
// replayed code, a disabled or locked account all throw the same LoginFailedError with the same
// message, after the same scrypt run, so neither the answer nor its timing tells whether a name
// exists. The precise reason is kept on the error for the server's private log only.
import { sql } from 'kysely';
import { withTransaction } from '../store/index.ts';
import type { Queryable } from '../store/index.ts';
import { AccessError } from './errors.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from './password.ts';
import {
  accountAttemptKey,
  clock,
  costOption,
  openTotpSecret,
  parsePrincipalName,
  sha256Hex,
  toRecord,
} from './principal.ts';
import type { AccessStore } from './principal.ts';
import { isOfficialRole } from './role.ts';
import type { Principal } from './role.ts';
import type { AccessTables } from './schema.ts';
import { startSession } from './session.ts';
import { generateTotpSecret, matchTotp } from './totp.ts';

/**
 * Failed attempts an account may have in {@link FAILURE_WINDOW_MINUTES} before it is locked.
 * With 6-digit codes and a 3-step window, five tries give a guesser odds of 1 in 67 000 per
 * lockout period even with the password known.
 */
export const ACCOUNT_MAX_FAILURES = 5;
/**
 * Failed attempts one client address may have in the window. Higher than an account's because a
 * county office's staff share one address behind its router; low enough to stop a password
 * spray across many names from one address.
 */
export const CLIENT_MAX_FAILURES = 20;
/** Minutes over which failures are counted. */
export const FAILURE_WINDOW_MINUTES = 15;
/** Minutes an account or address stays locked once over its limit. */
export const LOCKOUT_MINUTES = 15;

const MINUTE_MS = 60_000;
/** Longest name, password, code or address text looked at; longer input is cut before use. */
const MAX_INPUT_CHARS = 1024;

/** Why a sign-in failed: for the server's private log, never for the client. */
export const LOGIN_FAILURE_REASONS = [
  'locked',
  'unknown-name',
  'disabled',
  'not-official',
  'bad-password',
  'bad-code',
  'code-replayed',
] as const;

/** One of {@link LOGIN_FAILURE_REASONS}. */
export type LoginFailureReason = (typeof LOGIN_FAILURE_REASONS)[number];

/**
 * A failed sign-in. The code and message are the same for every cause; `reason` must never be
 * sent to the client (it would tell which names exist).
 */
export class LoginFailedError extends AccessError<'LOGIN_FAILED'> {
  readonly reason: LoginFailureReason;

  constructor(reason: LoginFailureReason) {
    super(
      'LOGIN_FAILED',
      'Cannot sign in: the name, password or code is wrong, or the account is locked',
    );
    this.reason = reason;
  }
}

/** What an official typed, and where from. All attacker-controlled. */
export interface LoginAttempt {
  readonly name: string;
  readonly password: string;
  /** The 6-digit TOTP code. */
  readonly code: string;
  /** The client's network address, as the web layer established it. */
  readonly client: string;
}

/** A successful sign-in. */
export interface LoginResult {
  readonly principal: Principal;
  /** The session id: hand it to the browser once (a Secure, HttpOnly cookie); stored hashed. */
  readonly session: string;
  readonly expiresAt: string;
}

// A TOTP secret checked in place of a missing account's, so that the code check costs the same.
const DUMMY_TOTP_SECRET = generateTotpSecret();

/**
 * Signs an official in and starts a session.
 *
 * Each attempt is counted against the account and the client address before anything is
 * checked, so that parallel guesses cannot all slip in before the counters catch up; a success
 * clears the account's count and takes the attempt off the address's. Once over the limit, the
 * account or the address is locked for {@link LOCKOUT_MINUTES}, right answers included. Unknown
 * names are counted too (under a hash), so a lockout does not tell whether a name exists.
 * A TOTP code is accepted once: the step it belongs to must be later than the last one accepted.
 * @throws LoginFailedError LOGIN_FAILED, for every cause
 * @throws AccessError CREDENTIAL_CORRUPT when the account's stored hash or secret is malformed
 */
export async function login(store: AccessStore, attempt: LoginAttempt): Promise<LoginResult> {
  const now = clock(store);
  const typedName = attempt.name.slice(0, MAX_INPUT_CHARS);
  let name: string | undefined;
  try {
    name = parsePrincipalName(typedName);
  } catch {
    name = undefined;
  }
  const accountKey = accountAttemptKey(name ?? typedName.toLowerCase());
  const clientKey = `client:${sha256Hex(attempt.client.slice(0, MAX_INPUT_CHARS))}`;
  const accountLocked = await countAttempt(store.q, accountKey, ACCOUNT_MAX_FAILURES, now);
  const clientLocked = await countAttempt(store.q, clientKey, CLIENT_MAX_FAILURES, now);
  const locked = accountLocked || clientLocked;

  const row =
    name === undefined
      ? undefined
      : await store.q.db
          .selectFrom('access_principal')
          .select([
            'principal_id',
            'name',
            'role',
            'scope',
            'created_at',
            'disabled_at',
            'password_hash',
            'totp_sealed',
          ])
          .where('name', '=', name)
          .executeTakeFirst();
  const record = row === undefined ? undefined : toRecord(row);
  // Always one scrypt run and one code check, whatever is missing.
  const password = attempt.password.slice(0, MAX_INPUT_CHARS);
  const storedHash = row?.password_hash ?? (await dummyPasswordHash(costOption(store)));
  const passwordCheck = await verifyPassword(password, storedHash, costOption(store));
  const secret =
    row?.totp_sealed == null || record === undefined
      ? DUMMY_TOTP_SECRET
      : openTotpSecret(store.ring, record.id, row.totp_sealed);
  const step = matchTotp(secret, attempt.code.slice(0, MAX_INPUT_CHARS), now);

  let reason: LoginFailureReason | undefined;
  if (locked) reason = 'locked';
  else if (record === undefined) reason = 'unknown-name';
  else if (record.disabled) reason = 'disabled';
  else if (!isOfficialRole(record.role) || row?.password_hash == null) reason = 'not-official';
  else if (!passwordCheck.ok) reason = 'bad-password';
  else if (step === undefined) reason = 'bad-code';
  if (reason !== undefined || record === undefined || step === undefined) {
    throw new LoginFailedError(reason ?? 'unknown-name');
  }

  const newHash = passwordCheck.needsRehash
    ? await hashPassword(password, costOption(store))
    : undefined;
  const started = await withTransaction(
    store.q,
    async (tx) => {
      // SPEC: https://www.rfc-editor.org/rfc/rfc6238#section-5.2 "the verifier MUST NOT accept the
      // second attempt of the same OTP after the successful validation has been issued for the
      // first OTP". The conditional update claims the step: of two sign-ins racing with one code,
      // exactly one updates the row.
      const claimed = await tx.db
        .updateTable('access_principal')
        .set({
          totp_last_step: step,
          ...(newHash === undefined ? {} : { password_hash: newHash }),
        })
        .where('principal_id', '=', record.id)
        .where('disabled_at', 'is', null)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) return undefined;
      await tx.db
        .deleteFrom('access_login_attempt')
        .where('attempt_key', '=', accountKey)
        .execute();
      await tx.db
        .updateTable('access_login_attempt')
        .set((eb) => ({ failures: eb('failures', '-', 1) }))
        .where('attempt_key', '=', clientKey)
        .where('failures', '>', 0)
        .where('locked_until', 'is', null)
        .execute();
      return startSession(tx, record.id, now);
    },
    // Each statement is a single-row atomic change (PostgreSQL re-checks the claim's condition
    // after waiting for the row lock), so read committed suffices and no conflict is retried.
    { isolation: 'read committed' },
  );
  if (started === undefined) throw new LoginFailedError('code-replayed');
  return {
    principal: { id: record.id, name: record.name, role: record.role, scope: record.scope },
    session: started.session,
    expiresAt: started.expiresAt,
  };
}

/**
 * Counts one attempt under `key` and says whether the key is locked. A key over its limit is
 * locked for {@link LOCKOUT_MINUTES}; attempts while locked are not counted (the lock does not
 * grow), and the first attempt after the lock or after the window starts a new count.
 *
 * One upsert statement does the read, the arithmetic and the write, so concurrent attempts on one
 * key are counted exactly, without a transaction to retry: PostgreSQL locks the conflicting row
 * for the update, SQLite runs one writer at a time. Times are ISO 8601 text, which compares in
 * time order.
 */
async function countAttempt(
  q: Queryable<AccessTables>,
  key: string,
  max: number,
  now: Date,
): Promise<boolean> {
  const at = now.toISOString();
  const windowStart = new Date(now.getTime() - FAILURE_WINDOW_MINUTES * MINUTE_MS).toISOString();
  const lockUntil = new Date(now.getTime() + LOCKOUT_MINUTES * MINUTE_MS).toISOString();
  const { rows } = await sql<{ locked_until: string | null }>`
    insert into access_login_attempt as a (attempt_key, failures, window_started_at, locked_until)
    values (${key}, 1, ${at}, null)
    on conflict (attempt_key) do update set
      failures = case
        when a.locked_until > ${at} then a.failures
        when a.locked_until is not null or a.window_started_at <= ${windowStart} then 1
        else a.failures + 1 end,
      window_started_at = case
        when a.locked_until > ${at} then a.window_started_at
        when a.locked_until is not null or a.window_started_at <= ${windowStart} then ${at}
        else a.window_started_at end,
      locked_until = case
        when a.locked_until > ${at} then a.locked_until
        when a.locked_until is null and a.window_started_at > ${windowStart}
          and a.failures + 1 > ${max} then ${lockUntil}
        else null end
    returning locked_until`.execute(q.db);
  const lockedUntil = rows[0]?.locked_until ?? null;
  return lockedUntil !== null && lockedUntil > at;
}

/** What {@link pruneExpired} deleted. */
export interface PruneReport {
  readonly sessions: number;
  readonly loginAttempts: number;
}

/**
 * Deletes sessions past their absolute expiry and failure counters whose window and lockout are
 * over, so that the tables stay the size of current activity. Run it now and then (a timer of
 * the server); nothing depends on it for correctness.
 */
export async function pruneExpired(store: AccessStore): Promise<PruneReport> {
  const now = clock(store);
  const at = now.toISOString();
  const sessions = await store.q.db
    .deleteFrom('access_session')
    .where('expires_at', '<=', at)
    .executeTakeFirst();
  const windowStart = new Date(now.getTime() - FAILURE_WINDOW_MINUTES * MINUTE_MS).toISOString();
  const attempts = await store.q.db
    .deleteFrom('access_login_attempt')
    .where('window_started_at', '<=', windowStart)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', at)]))
    .executeTakeFirst();
  return {
    sessions: Number(sessions.numDeletedRows),
    loginAttempts: Number(attempts.numDeletedRows),
  };
}
