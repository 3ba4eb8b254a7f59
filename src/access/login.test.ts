import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/setup/databases.ts';
import { AccessError } from './errors.ts';
import {
  ACCOUNT_MAX_FAILURES,
  CLIENT_MAX_FAILURES,
  FAILURE_WINDOW_MINUTES,
  LOCKOUT_MINUTES,
  login,
  LoginFailedError,
  pruneExpired,
} from './login.ts';
import type { LoginAttempt, LoginFailureReason } from './login.ts';
import { createPrincipal, disablePrincipal } from './principal.ts';
import type { OfficialCredentials } from './principal.ts';
import { parseScope } from './scope.ts';
import {
  authenticateSession,
  revokeSession,
  SESSION_ABSOLUTE_HOURS,
  SESSION_IDLE_MINUTES,
} from './session.ts';
import { openTestStore, TEST_COST } from './test-support.ts';
import type { TestStore } from './test-support.ts';
import { TOTP_STEP_SECONDS, totpCode } from './totp.ts';

const MINUTE = 60_000;
const STEP = TOTP_STEP_SECONDS * 1000;

async function failed(promise: Promise<unknown>): Promise<LoginFailedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LoginFailedError) return error;
    throw error;
  }
  throw new Error('expected a LoginFailedError');
}

async function accessError(promise: Promise<unknown>): Promise<AccessError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AccessError) return error;
    throw error;
  }
  throw new Error('expected an AccessError');
}

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let t: TestStore;
    let clerk: OfficialCredentials;

    beforeEach(async () => {
      t = await openTestStore(dialect);
      const created = await createPrincipal(t.store, {
        name: 'clerk',
        role: 'county-clerk',
        scope: parseScope(['01']),
        by: t.console,
      });
      clerk = created.credentials!;
    });

    afterEach(async () => {
      await t.remove();
    });

    /** A right attempt for the clerk at the current time, with changes. */
    function attempt(changes: Partial<LoginAttempt> = {}): LoginAttempt {
      return {
        name: 'clerk',
        password: clerk.password,
        code: totpCode(clerk.totpSecret, t.clock.now),
        client: '192.0.2.10',
        ...changes,
      };
    }

    /** Moves to the next TOTP step, so that the next code is a new one. */
    function nextStep(): void {
      t.clock.advance(STEP);
    }

    it('signs an official in with password and code, and starts a session bound to them', async () => {
      const result = await login(t.store, attempt({ name: 'CLERK' }));
      expect(result.principal).toMatchObject({
        name: 'clerk',
        role: 'county-clerk',
        scope: { kind: 'counties', counties: ['01'] },
      });
      expect(result.session).toMatch(/^vs_[A-Za-z0-9_-]{43}$/);
      expect(result.expiresAt).toBe(
        new Date(t.clock.now.getTime() + SESSION_ABSOLUTE_HOURS * 60 * MINUTE).toISOString(),
      );
      const info = await authenticateSession(t.store, result.session);
      expect(info.principal).toEqual(result.principal);
      // The session id is stored only hashed.
      const rows = await t.handle.db.selectFrom('access_session').select('session_hash').execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.session_hash).not.toContain(result.session.slice(3));
    });

    it('gives one answer, same code and message, for every kind of failure', async () => {
      await createPrincipal(t.store, {
        name: 'feed',
        role: 'api-client',
        scope: parseScope(['01']),
        by: t.console,
      });
      const gone = await createPrincipal(t.store, {
        name: 'gone',
        role: 'county-staff',
        scope: parseScope(['01']),
        by: t.console,
      });
      await disablePrincipal(t.store, { name: 'gone', by: t.console });
      const wrongCode = totpCode(clerk.totpSecret, new Date(t.clock.now.getTime() + 5 * STEP));
      const cases: [Partial<LoginAttempt>, LoginFailureReason][] = [
        [{ name: 'nobody' }, 'unknown-name'],
        [{ name: 'not a name!' }, 'unknown-name'],
        [{ password: 'wrong-password' }, 'bad-password'],
        [{ code: wrongCode }, 'bad-code'],
        [{ code: '' }, 'bad-code'],
        [{ name: 'feed', password: '' }, 'not-official'],
        [
          {
            name: 'gone',
            password: gone.credentials!.password,
            code: totpCode(gone.credentials!.totpSecret, t.clock.now),
          },
          'disabled',
        ],
      ];
      const errors: LoginFailedError[] = [];
      for (const [changes, reason] of cases) {
        const error = await failed(login(t.store, attempt({ ...changes, client: `c-${reason}` })));
        expect(error.reason, JSON.stringify(changes)).toBe(reason);
        errors.push(error);
      }
      for (const error of errors) {
        expect(error.code).toBe('LOGIN_FAILED');
        expect(error.message).toBe(
          'Cannot sign in: the name, password or code is wrong, or the account is locked',
        );
        expect(Object.keys(error).sort()).toEqual(['code', 'name', 'reason']);
      }
      expect(
        await t.handle.db.selectFrom('access_session').select('session_hash').execute(),
      ).toEqual([]);
    });

    it('accepts a code once: a replay in the same step, or an older step, is refused', async () => {
      const code = totpCode(clerk.totpSecret, t.clock.now);
      await login(t.store, attempt({ code }));
      expect((await failed(login(t.store, attempt({ code })))).reason).toBe('code-replayed');
      // A code of the step before the accepted one is inside the window but older: refused.
      const previous = totpCode(clerk.totpSecret, new Date(t.clock.now.getTime() - STEP));
      expect((await failed(login(t.store, attempt({ code: previous })))).reason).toBe(
        'code-replayed',
      );
      nextStep();
      await login(t.store, attempt());
    });

    it('lets exactly one of two simultaneous sign-ins with the same code through', async () => {
      const code = totpCode(clerk.totpSecret, t.clock.now);
      const results = await Promise.allSettled([
        login(t.store, attempt({ code })),
        login(t.store, attempt({ code })),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r) => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({
        reason: 'code-replayed',
      });
    });

    it('locks an account after five failures for fifteen minutes, right answers included', async () => {
      for (let i = 0; i < ACCOUNT_MAX_FAILURES; i++) {
        expect((await failed(login(t.store, attempt({ password: `guess-${i}` })))).reason).toBe(
          'bad-password',
        );
      }
      expect((await failed(login(t.store, attempt()))).reason).toBe('locked');
      // From another address too: the lock is on the account.
      expect((await failed(login(t.store, attempt({ client: '198.51.100.7' })))).reason).toBe(
        'locked',
      );
      t.clock.advance(LOCKOUT_MINUTES * MINUTE - 1);
      expect((await failed(login(t.store, attempt()))).reason).toBe('locked');
      t.clock.advance(1);
      await login(t.store, attempt());
    });

    it('locks an unknown name like a real one, so a lockout tells nothing', async () => {
      for (let i = 0; i < ACCOUNT_MAX_FAILURES; i++) {
        await failed(login(t.store, attempt({ name: 'ghost', client: `10.0.0.${i}` })));
      }
      expect((await failed(login(t.store, attempt({ name: 'ghost' })))).reason).toBe('locked');
      // The counters hold no name in clear.
      const keys = await t.handle.db
        .selectFrom('access_login_attempt')
        .select('attempt_key')
        .execute();
      expect(keys.every((k) => /^(account|client):[0-9a-f]{64}$/.test(k.attempt_key))).toBe(true);
    });

    it('counts failures in a fifteen-minute window, and a success clears the account', async () => {
      for (let i = 0; i < ACCOUNT_MAX_FAILURES - 1; i++) {
        await failed(login(t.store, attempt({ password: 'x' })));
      }
      t.clock.advance(FAILURE_WINDOW_MINUTES * MINUTE);
      for (let i = 0; i < ACCOUNT_MAX_FAILURES - 1; i++) {
        await failed(login(t.store, attempt({ password: 'x' })));
      }
      await login(t.store, attempt());
      nextStep();
      for (let i = 0; i < ACCOUNT_MAX_FAILURES - 1; i++) {
        await failed(login(t.store, attempt({ password: 'x' })));
      }
      await login(t.store, attempt());
    });

    it('counts parallel guesses before checking them, so a burst cannot outrun the lock', async () => {
      const burst = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          login(t.store, attempt({ password: `burst-${i}`, client: `203.0.113.${i}` })),
        ),
      );
      const reasons = burst.map((r) =>
        r.status === 'rejected' ? (r.reason as LoginFailedError).reason : 'ok',
      );
      expect(reasons.filter((r) => r === 'bad-password')).toHaveLength(ACCOUNT_MAX_FAILURES);
      expect(reasons.filter((r) => r === 'locked')).toHaveLength(12 - ACCOUNT_MAX_FAILURES);
    });

    it('locks a client address that sprays many names, without locking the accounts', async () => {
      for (let i = 0; i < CLIENT_MAX_FAILURES; i++) {
        await failed(login(t.store, attempt({ name: `user${i}`, client: '203.0.113.99' })));
      }
      expect((await failed(login(t.store, attempt({ client: '203.0.113.99' })))).reason).toBe(
        'locked',
      );
      await login(t.store, attempt({ client: '192.0.2.55' }));
    });

    it('takes a successful attempt off the address count, so an office is not locked by its own sign-ins', async () => {
      for (let i = 0; i < CLIENT_MAX_FAILURES + 5; i++) {
        await login(t.store, attempt());
        nextStep();
      }
    });

    it('re-hashes a password stored at a lower cost on sign-in', async () => {
      const stronger = { ...t.store, passwordCost: { ...TEST_COST, log2N: 11 } };
      await login(stronger, attempt());
      const row = await t.handle.db
        .selectFrom('access_principal')
        .select('password_hash')
        .where('name', '=', 'clerk')
        .executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$scrypt\$ln=11,r=8,p=1\$/);
      nextStep();
      await login(stronger, attempt());
    });

    it('ends a session after thirty idle minutes, and activity keeps it alive', async () => {
      const { session } = await login(t.store, attempt());
      t.clock.advance(SESSION_IDLE_MINUTES * MINUTE - 1);
      await authenticateSession(t.store, session);
      t.clock.advance(SESSION_IDLE_MINUTES * MINUTE - 1);
      await authenticateSession(t.store, session);
      t.clock.advance(SESSION_IDLE_MINUTES * MINUTE);
      const error = await accessError(authenticateSession(t.store, session));
      expect(error.code).toBe('SESSION_INVALID');
      expect(error.message).toBe(
        'Cannot authenticate: the session is unknown, ended or expired (sign in again)',
      );
    });

    it('ends a session twelve hours after sign-in whatever the activity', async () => {
      const { session, expiresAt } = await login(t.store, attempt());
      const end = Date.parse(expiresAt);
      while (t.clock.now.getTime() + 20 * MINUTE < end) {
        t.clock.advance(20 * MINUTE);
        await authenticateSession(t.store, session);
      }
      t.clock.now = new Date(end);
      expect((await accessError(authenticateSession(t.store, session))).code).toBe(
        'SESSION_INVALID',
      );
    });

    it('signs out, refuses unknown and malformed ids, and ignores a sign-out of nothing', async () => {
      const { session } = await login(t.store, attempt());
      await revokeSession(t.store, session);
      expect((await accessError(authenticateSession(t.store, session))).code).toBe(
        'SESSION_INVALID',
      );
      await revokeSession(t.store, session);
      await revokeSession(t.store, 'garbage');
      for (const bad of ['', 'garbage', `vs_${'A'.repeat(43)}`, session.slice(0, -1)]) {
        expect((await accessError(authenticateSession(t.store, bad))).code).toBe('SESSION_INVALID');
      }
    });

    it('refuses the session of a principal disabled behind its back', async () => {
      const { session } = await login(t.store, attempt());
      await t.handle.db
        .updateTable('access_principal')
        .set({ disabled_at: t.clock.now.toISOString() })
        .execute();
      expect((await accessError(authenticateSession(t.store, session))).code).toBe(
        'SESSION_INVALID',
      );
    });

    it('refuses to sign in with a TOTP secret altered in the database', async () => {
      await t.handle.db
        .updateTable('access_principal')
        .set({ totp_sealed: Buffer.alloc(49, 1) })
        .where('name', '=', 'clerk')
        .execute();
      expect((await accessError(login(t.store, attempt()))).code).toBe('CREDENTIAL_CORRUPT');
    });

    it('prunes expired sessions and finished counters only', async () => {
      const { session } = await login(t.store, attempt({ client: 'old' }));
      await failed(login(t.store, attempt({ name: 'ghost', client: 'old' })));
      expect(await pruneExpired(t.store)).toEqual({ sessions: 0, loginAttempts: 0 });
      t.clock.advance(SESSION_ABSOLUTE_HOURS * 60 * MINUTE);
      expect(await pruneExpired(t.store)).toEqual({ sessions: 1, loginAttempts: 2 });
      expect((await accessError(authenticateSession(t.store, session))).code).toBe(
        'SESSION_INVALID',
      );
      // A locked counter stays until its lock is over, even once its window is.
      await failed(login(t.store, attempt({ name: 'ghost', client: 'new' })));
      t.clock.advance(10 * MINUTE);
      for (let i = 0; i < ACCOUNT_MAX_FAILURES; i++) {
        await failed(login(t.store, attempt({ name: 'ghost', client: 'new' })));
      }
      t.clock.advance(FAILURE_WINDOW_MINUTES * MINUTE - 10 * MINUTE);
      expect(await pruneExpired(t.store)).toEqual({ sessions: 0, loginAttempts: 1 });
      const left = await t.handle.db
        .selectFrom('access_login_attempt')
        .select(['attempt_key', 'locked_until'])
        .execute();
      expect(left).toHaveLength(1);
      expect(left[0]!.locked_until).not.toBeNull();
    });
  });
}
