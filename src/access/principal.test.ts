import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/setup/databases.ts';
import { createKeyRing } from '../crypto/index.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrincipalChangeEntrySchema } from './access-event.ts';
import { AccessError } from './errors.ts';
import { login } from './login.ts';
import { verifyPassword } from './password.ts';
import {
  createPrincipal,
  disablePrincipal,
  findPrincipal,
  openTotpSecret,
  parsePrincipalName,
  resetCredentials,
  sealTotpSecret,
} from './principal.ts';
import type { PrincipalId } from './role.ts';
import { parseScope } from './scope.ts';
import { authenticateSession } from './session.ts';
import { openTestStore, TEST_COST } from './test-support.ts';
import type { TestStore } from './test-support.ts';
import { issueToken, authenticateToken } from './token.ts';
import { decodeBase32, totpCode } from './totp.ts';

async function accessError(promise: Promise<unknown>): Promise<AccessError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AccessError) return error;
    throw error;
  }
  throw new Error('expected an AccessError');
}

describe('parsePrincipalName', () => {
  it('lower-cases names and refuses anything but a plain login name', () => {
    expect(parsePrincipalName('Clerk.Smith@County-01.example')).toBe(
      'clerk.smith@county-01.example',
    );
    for (const bad of ['', ' clerk', 'clerk name', '-clerk', 'a'.repeat(65), 'clérk', 'x;drop']) {
      expect(() => parsePrincipalName(bad)).toThrow(AccessError);
    }
    expect(parsePrincipalName('a'.repeat(64))).toHaveLength(64);
  });
});

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let t: TestStore;

    beforeEach(async () => {
      t = await openTestStore(dialect);
    });

    afterEach(async () => {
      await t.remove();
    });

    async function row(name: string) {
      return t.handle.db
        .selectFrom('access_principal')
        .select(['principal_id', 'password_hash', 'totp_sealed', 'totp_last_step', 'disabled_at'])
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
    }

    it('has no account until one is created: there is no default', async () => {
      const rows = await t.handle.db.selectFrom('access_principal').select('name').execute();
      expect(rows).toEqual([]);
      expect(await findPrincipal(t.store, 'admin')).toBeUndefined();
    });

    it('creates an official with a generated password and a sealed TOTP secret, shown once and logged without them', async () => {
      const { principal, credentials } = await createPrincipal(t.store, {
        name: 'Clerk01',
        role: 'county-clerk',
        scope: parseScope(['01', '02']),
        by: t.console,
      });
      expect(principal).toMatchObject({
        name: 'clerk01',
        role: 'county-clerk',
        scope: { kind: 'counties', counties: ['01', '02'] },
        disabled: false,
        createdAt: t.clock.now.toISOString(),
      });
      expect(principal.id).toMatch(/^[0-9a-f]{32}$/);
      expect(credentials).toBeDefined();
      const { password, totpSecret, totpUri } = credentials!;
      const stored = await row('clerk01');
      expect(stored.password_hash).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$/);
      expect((await verifyPassword(password, stored.password_hash!, { cost: TEST_COST })).ok).toBe(
        true,
      );
      // The secret is sealed: its bytes are not in the row, and the ring opens it.
      const sealed = Buffer.from(stored.totp_sealed!);
      expect(sealed.includes(Buffer.from(totpSecret))).toBe(false);
      expect(
        Buffer.from(openTotpSecret(t.ring, principal.id, sealed)).equals(Buffer.from(totpSecret)),
      ).toBe(true);
      const uri = new URL(totpUri);
      expect(
        Buffer.from(decodeBase32(uri.searchParams.get('secret')!)!).equals(Buffer.from(totpSecret)),
      ).toBe(true);
      expect(await findPrincipal(t.store, 'CLERK01')).toEqual(principal);

      const entries = await t.log.entries();
      expect(entries.map((e) => PrincipalChangeEntrySchema.parse(e))).toEqual([
        {
          type: 'principal-change',
          change: 'created',
          principal: principal.id,
          role: 'county-clerk',
          scope: ['01', '02'],
          token: null,
          actor: null,
          channel: 'cli',
          time: t.clock.now.toISOString(),
        },
      ]);
      const text = JSON.stringify(entries);
      expect(text).not.toContain('clerk01');
      expect(text).not.toContain(password);
      expect(text).not.toContain(uri.searchParams.get('secret'));
    });

    it('creates an API client with no password and no TOTP secret', async () => {
      const { principal, credentials } = await createPrincipal(t.store, {
        name: 'pollbook',
        role: 'api-client',
        scope: parseScope(['state']),
        by: t.console,
      });
      expect(credentials).toBeUndefined();
      expect(principal.role).toBe('api-client');
      const stored = await row('pollbook');
      expect(stored.password_hash).toBeNull();
      expect(stored.totp_sealed).toBeNull();
    });

    it('refuses a taken name (in any case), a bad name and a scope the role may not hold, changing and logging nothing', async () => {
      await createPrincipal(t.store, {
        name: 'admin',
        role: 'state-admin',
        scope: parseScope(['state']),
        by: t.console,
      });
      const taken = await accessError(
        createPrincipal(t.store, {
          name: 'ADMIN',
          role: 'auditor',
          scope: parseScope(['state']),
          by: t.console,
        }),
      );
      expect(taken.code).toBe('PRINCIPAL_EXISTS');
      expect(taken.message).toBe('Cannot create "admin": the name is taken');
      const badName = await accessError(
        createPrincipal(t.store, {
          name: 'no spaces',
          role: 'auditor',
          scope: parseScope(['state']),
          by: t.console,
        }),
      );
      expect(badName.code).toBe('NAME_INVALID');
      const stateClerk = await accessError(
        createPrincipal(t.store, {
          name: 'clerk',
          role: 'county-clerk',
          scope: parseScope(['state']),
          by: t.console,
        }),
      );
      expect(stateClerk.code).toBe('SCOPE_INVALID');
      expect(stateClerk.message).toBe(
        'Cannot give role "county-clerk" scope "state": the role is for counties',
      );
      const countyAdmin = await accessError(
        createPrincipal(t.store, {
          name: 'admin2',
          role: 'state-admin',
          scope: parseScope(['01']),
          by: t.console,
        }),
      );
      expect(countyAdmin.message).toBe(
        'Cannot give role "state-admin" scope "01": the role is statewide',
      );
      const rows = await t.handle.db.selectFrom('access_principal').select('name').execute();
      expect(rows).toEqual([{ name: 'admin' }]);
      expect(await t.log.entries()).toHaveLength(1);
    });

    it('creates nothing when the log does not take the change (fail closed)', async () => {
      const error = await accessError(
        createPrincipal(t.store, {
          name: 'clerk',
          role: 'county-clerk',
          scope: parseScope(['01']),
          by: { ...t.console, appendLog: () => Promise.reject(new Error('disk full')) },
        }),
      );
      expect(error.code).toBe('ACCESS_LOG_FAILED');
      expect(await findPrincipal(t.store, 'clerk')).toBeUndefined();
    });

    it('disables a principal, ending its sessions and tokens, once', async () => {
      const { credentials } = await createPrincipal(t.store, {
        name: 'staff',
        role: 'county-staff',
        scope: parseScope(['01']),
        by: t.console,
      });
      await createPrincipal(t.store, {
        name: 'feed',
        role: 'api-client',
        scope: parseScope(['01']),
        by: t.console,
      });
      const { token } = await issueToken(t.store, {
        name: 'feed',
        actions: ['search'],
        by: t.console,
      });
      const { session } = await login(t.store, {
        name: 'staff',
        password: credentials!.password,
        code: totpCode(credentials!.totpSecret, t.clock.now),
        client: '192.0.2.1',
      });
      const admin = '0123456789abcdef0123456789abcdef' as PrincipalId;
      const disabled = await disablePrincipal(t.store, {
        name: 'staff',
        by: { ...t.console, actor: admin, channel: 'officials' },
      });
      expect(disabled.disabled).toBe(true);
      expect((await findPrincipal(t.store, 'staff'))?.disabled).toBe(true);
      expect((await accessError(authenticateSession(t.store, session))).code).toBe(
        'SESSION_INVALID',
      );
      await disablePrincipal(t.store, { name: 'feed', by: t.console });
      expect((await accessError(authenticateToken(t.store, token))).code).toBe('TOKEN_INVALID');
      const before = (await t.log.entries()).length;
      expect((await disablePrincipal(t.store, { name: 'staff', by: t.console })).disabled).toBe(
        true,
      );
      const entries = (await t.log.entries()).map((e) => PrincipalChangeEntrySchema.parse(e));
      expect(entries).toHaveLength(before);
      expect(entries.filter((e) => e.change === 'disabled')).toEqual([
        expect.objectContaining({ actor: admin, channel: 'officials', role: 'county-staff' }),
        expect.objectContaining({ actor: null, role: 'api-client' }),
      ]);
      expect(
        (await accessError(disablePrincipal(t.store, { name: 'nobody', by: t.console }))).code,
      ).toBe('PRINCIPAL_NOT_FOUND');
    });

    it('resets an official: new password and secret, old ones dead, sessions ended', async () => {
      const { principal, credentials } = await createPrincipal(t.store, {
        name: 'auditor',
        role: 'auditor',
        scope: parseScope(['state']),
        by: t.console,
      });
      const { session } = await login(t.store, {
        name: 'auditor',
        password: credentials!.password,
        code: totpCode(credentials!.totpSecret, t.clock.now),
        client: '192.0.2.1',
      });
      expect((await row('auditor')).totp_last_step).not.toBeNull();
      const fresh = await resetCredentials(t.store, { name: 'Auditor', by: t.console });
      expect(fresh.password).not.toBe(credentials!.password);
      expect(Buffer.from(fresh.totpSecret).equals(Buffer.from(credentials!.totpSecret))).toBe(
        false,
      );
      const stored = await row('auditor');
      expect(stored.totp_last_step).toBeNull();
      expect((await verifyPassword(credentials!.password, stored.password_hash!)).ok).toBe(false);
      expect((await verifyPassword(fresh.password, stored.password_hash!)).ok).toBe(true);
      expect(
        Buffer.from(openTotpSecret(t.ring, principal.id, stored.totp_sealed!)).equals(
          Buffer.from(fresh.totpSecret),
        ),
      ).toBe(true);
      expect((await accessError(authenticateSession(t.store, session))).code).toBe(
        'SESSION_INVALID',
      );
      const last = PrincipalChangeEntrySchema.parse((await t.log.entries()).at(-1));
      expect(last).toMatchObject({ change: 'credentials-reset', principal: principal.id });
      expect(JSON.stringify(await t.log.entries())).not.toContain(fresh.password);
    });

    it('refuses to reset an API client, a disabled or unknown principal, and rolls back when the log fails', async () => {
      await createPrincipal(t.store, {
        name: 'feed',
        role: 'api-client',
        scope: parseScope(['state']),
        by: t.console,
      });
      expect(
        (await accessError(resetCredentials(t.store, { name: 'feed', by: t.console }))).code,
      ).toBe('ROLE_INVALID');
      await createPrincipal(t.store, {
        name: 'gone',
        role: 'county-staff',
        scope: parseScope(['01']),
        by: t.console,
      });
      const before = await row('gone');
      const failed = await accessError(
        resetCredentials(t.store, {
          name: 'gone',
          by: { ...t.console, appendLog: () => Promise.reject(new Error('no log')) },
        }),
      );
      expect(failed.code).toBe('ACCESS_LOG_FAILED');
      expect((await row('gone')).password_hash).toBe(before.password_hash);
      await disablePrincipal(t.store, { name: 'gone', by: t.console });
      expect(
        (await accessError(resetCredentials(t.store, { name: 'gone', by: t.console }))).code,
      ).toBe('PRINCIPAL_DISABLED');
      expect(
        (await accessError(resetCredentials(t.store, { name: 'nobody', by: t.console }))).code,
      ).toBe('PRINCIPAL_NOT_FOUND');
    });

    it('refuses a stored row whose role or scope was altered', async () => {
      await createPrincipal(t.store, {
        name: 'clerk',
        role: 'county-clerk',
        scope: parseScope(['01']),
        by: t.console,
      });
      await t.handle.db
        .updateTable('access_principal')
        .set({ role: 'superuser' })
        .where('name', '=', 'clerk')
        .execute();
      expect((await accessError(findPrincipal(t.store, 'clerk'))).code).toBe('CREDENTIAL_CORRUPT');
      await t.handle.db
        .updateTable('access_principal')
        .set({ role: 'county-clerk', scope: '{"kind":"state"}' })
        .where('name', '=', 'clerk')
        .execute();
      expect((await accessError(findPrincipal(t.store, 'clerk'))).code).toBe('CREDENTIAL_CORRUPT');
      await t.handle.db
        .updateTable('access_principal')
        .set({ scope: '["01 02"]' })
        .where('name', '=', 'clerk')
        .execute();
      expect((await accessError(findPrincipal(t.store, 'clerk'))).code).toBe('CREDENTIAL_CORRUPT');
    });
  });
}

describe('sealed TOTP secrets', () => {
  it('open only for their principal, under their key ring, unaltered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'votervault-access-seal-'));
    try {
      const ring = await createKeyRing({ dir: join(dir, 'a') });
      const other = await createKeyRing({ dir: join(dir, 'b') });
      const alice = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' as PrincipalId;
      const bob = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' as PrincipalId;
      const secret = Buffer.from('12345678901234567890');
      const sealed = sealTotpSecret(ring, alice, secret);
      expect(sealed).toHaveLength(1 + 12 + 20 + 16);
      expect(Buffer.from(openTotpSecret(ring, alice, sealed)).equals(secret)).toBe(true);
      expect(Buffer.from(sealTotpSecret(ring, alice, secret)).equals(Buffer.from(sealed))).toBe(
        false,
      );
      const refused = (fn: () => unknown) => {
        try {
          fn();
        } catch (error) {
          return error;
        }
        return undefined;
      };
      const tampered = Buffer.from(sealed);
      tampered[20] = (tampered[20] ?? 0) ^ 1;
      for (const attempt of [
        () => openTotpSecret(ring, bob, sealed),
        () => openTotpSecret(other, alice, sealed),
        () => openTotpSecret(ring, alice, tampered),
        () => openTotpSecret(ring, alice, Buffer.concat([Buffer.of(2), sealed.subarray(1)])),
        () => openTotpSecret(ring, alice, sealed.subarray(0, 29)),
      ]) {
        const error = refused(attempt);
        expect(error).toBeInstanceOf(AccessError);
        expect((error as AccessError).code).toBe('CREDENTIAL_CORRUPT');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
