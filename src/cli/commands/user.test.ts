import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../../test/setup/databases.ts';
import type { TestDatabase } from '../../../test/setup/databases.ts';
import {
  authenticateToken,
  decodeBase32,
  login,
  PrincipalChangeEntrySchema,
  totpCode,
} from '../../access/index.ts';
import type { AccessStore, AccessTables } from '../../access/index.ts';
import { loadKeyRing } from '../../crypto/index.ts';
import { migrationState, openDatabase } from '../../store/index.ts';
import type { DatabaseHandle } from '../../store/index.ts';
import { readCheckpointFile, readEntryBundle } from '../../tlog/index.ts';
import { VOTERS_MIGRATIONS } from '../../voters/index.ts';
import type { CliIo } from '../command.ts';
import { UsageError } from '../command.ts';
import { dataDir } from '../data-dir.ts';
import { initDataDir } from './log.ts';
import { USER_COMMANDS } from './user.ts';
import { initDataStore } from '../data-store.ts';

interface Run {
  code: number;
  out: string;
  err: string;
}

function io(): CliIo & { text(): Run } {
  let out = '';
  let err = '';
  return {
    out: (t) => (out += t),
    err: (t) => (err += t),
    stdin: Readable.from([]),
    isTty: false,
    text: () => ({ code: 0, out, err }),
  };
}

async function run(path: string, args: string[]): Promise<Run> {
  const command = USER_COMMANDS.find((c) => c.path.join(' ') === path);
  if (command === undefined) throw new Error(`no command "${path}"`);
  const capture = io();
  const code = await command.run(args, capture);
  return { ...capture.text(), code };
}

async function logEntries(dir: string): Promise<unknown[]> {
  const logDir = dataDir(dir).log;
  const note = String(await readCheckpointFile(logDir));
  const size = Number(note.split('\n')[1]);
  if (size === 0) return [];
  const entries = await readEntryBundle(logDir, 0, size);
  return entries.map((bytes) => JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown);
}

/** The password and TOTP secret printed by `user add` or `user reset`. */
function credentialsOf(out: string): { password: string; secret: Uint8Array; uri: URL } {
  const password = /Password \(shown once, stored only hashed\): (\S+)/.exec(out)?.[1];
  const uri = /^(otpauth:\/\/\S+)$/m.exec(out)?.[1];
  if (password === undefined || uri === undefined) throw new Error(`no credentials in: ${out}`);
  const parsed = new URL(uri);
  const secret = decodeBase32(parsed.searchParams.get('secret') ?? '');
  if (secret === undefined) throw new Error('bad secret');
  return { password, secret, uri: parsed };
}

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let dir: string;
    let database: string[];
    let location: string;

    beforeEach(async () => {
      testDb = await createTestDatabase(dialect);
      dir = await mkdtemp(join(tmpdir(), 'votervault-cli-user-'));
      database = dialect === 'sqlite' ? [] : ['--database', testDb.location];
      location = dialect === 'sqlite' ? join(dataDir(dir).root, 'votervault.db') : testDb.location;
      await initDataDir(dir, 'votervault.test/log');
      // The voter store's migrations ran first, as `init` does: ours must add to them.
      await initDataStore(dir, dialect === 'sqlite' ? undefined : testDb.location);
    });

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
      await testDb.drop();
    });

    async function withStore<T>(fn: (store: AccessStore) => Promise<T>): Promise<T> {
      const ring = await loadKeyRing({ dir: dataDir(dir).keys });
      const handle: DatabaseHandle<AccessTables> = await openDatabase<AccessTables>(location);
      try {
        return await fn({ q: handle, ring });
      } finally {
        await handle.close();
      }
    }

    it('adds an official whose printed password and TOTP secret sign in, and logs the change without them', async () => {
      const added = await run('user add', [
        '--data',
        dir,
        ...database,
        '--name',
        'Clerk01',
        '--role',
        'county-clerk',
        '--scope',
        '01',
        '--scope',
        '02',
      ]);
      expect(added.code).toBe(0);
      expect(added.out).toMatch(
        /^Created county-clerk "clerk01" \(id [0-9a-f]{32}\), scope 01 02\n/,
      );
      const { password, secret, uri } = credentialsOf(added.out);
      expect(`${uri.host}${uri.pathname}`).toBe('totp/votervault:clerk01');
      const signedIn = await withStore((store) =>
        login(store, {
          name: 'clerk01',
          password,
          code: totpCode(secret, new Date()),
          client: '127.0.0.1',
        }),
      );
      expect(signedIn.principal.role).toBe('county-clerk');

      const entries = await logEntries(dir);
      expect(entries.map((e) => PrincipalChangeEntrySchema.parse(e))).toEqual([
        expect.objectContaining({
          change: 'created',
          role: 'county-clerk',
          scope: ['01', '02'],
          actor: null,
          channel: 'cli',
        }),
      ]);
      const text = JSON.stringify(entries);
      expect(text).not.toContain(password);
      expect(text).not.toContain(uri.searchParams.get('secret'));
      expect(text).not.toContain('clerk01');
      // Both modules' tables are there; nothing else was touched.
      await withStore(async (store) => {
        expect((await migrationState(store.q, VOTERS_MIGRATIONS)).pending).toEqual([]);
      });
    });

    it('defaults a state admin to the state scope and refuses a scope the role may not hold', async () => {
      const admin = await run('user add', [
        '--data',
        dir,
        ...database,
        '--name',
        'admin',
        '--role',
        'state-admin',
      ]);
      expect(admin.out).toMatch(/scope state\n/);
      await expect(
        run('user add', [
          '--data',
          dir,
          ...database,
          '--name',
          'clerk',
          '--role',
          'county-clerk',
          '--scope',
          'state',
        ]),
      ).rejects.toMatchObject({ code: 'SCOPE_INVALID' });
      await expect(
        run('user add', ['--data', dir, ...database, '--name', 'clerk', '--role', 'county-clerk']),
      ).rejects.toThrow(UsageError);
      await expect(
        run('user add', [
          '--data',
          dir,
          ...database,
          '--name',
          'clerk',
          '--role',
          'county-clerk',
          '--scope',
          'state',
          '--scope',
          '01',
        ]),
      ).rejects.toThrow(UsageError);
      await expect(
        run('user add', ['--data', dir, ...database, '--name', 'x', '--role', 'root']),
      ).rejects.toThrow(UsageError);
      expect(await logEntries(dir)).toHaveLength(1);
    });

    it('adds an API client with a token printed once, scoped to its actions', async () => {
      const added = await run('user add', [
        '--data',
        dir,
        ...database,
        '--name',
        'pollbook',
        '--role',
        'api-client',
        '--scope',
        '07',
        '--action',
        'search',
        '--action',
        'view',
        '--expires-days',
        '30',
      ]);
      expect(added.out).not.toContain('Password');
      const token = /^(vv_\S+)$/m.exec(added.out)?.[1];
      expect(token).toBeDefined();
      const principal = await withStore((store) => authenticateToken(store, token!));
      expect(principal).toMatchObject({ role: 'api-client', actions: ['search', 'view'] });
      const changes = (await logEntries(dir)).map((e) => PrincipalChangeEntrySchema.parse(e));
      expect(changes.map((c) => c.change)).toEqual(['created', 'token-issued']);
      expect(JSON.stringify(changes)).not.toContain(token!.slice(3));
      await expect(
        run('user add', [
          '--data',
          dir,
          ...database,
          '--name',
          'feed2',
          '--role',
          'api-client',
          '--scope',
          'state',
        ]),
      ).rejects.toThrow(UsageError);
      await expect(
        run('user add', [
          '--data',
          dir,
          ...database,
          '--name',
          'feed2',
          '--role',
          'api-client',
          '--scope',
          'state',
          '--action',
          'manage-users',
        ]),
      ).rejects.toThrow(UsageError);
      await expect(
        run('user add', [
          '--data',
          dir,
          ...database,
          '--name',
          'staff',
          '--role',
          'county-staff',
          '--scope',
          '01',
          '--action',
          'search',
        ]),
      ).rejects.toThrow(UsageError);
    });

    it('resets an official: the old password stops working, the new one works', async () => {
      const added = await run('user add', [
        '--data',
        dir,
        ...database,
        '--name',
        'auditor',
        '--role',
        'auditor',
        '--scope',
        'state',
      ]);
      const old = credentialsOf(added.out);
      const reset = await run('user reset', ['--data', dir, ...database, '--name', 'auditor']);
      expect(reset.code).toBe(0);
      const fresh = credentialsOf(reset.out);
      expect(fresh.password).not.toBe(old.password);
      await withStore(async (store) => {
        await expect(
          login(store, {
            name: 'auditor',
            password: old.password,
            code: totpCode(old.secret, new Date()),
            client: '127.0.0.1',
          }),
        ).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
        await login(store, {
          name: 'auditor',
          password: fresh.password,
          code: totpCode(fresh.secret, new Date()),
          client: '127.0.0.2',
        });
      });
      const changes = (await logEntries(dir)).map((e) => PrincipalChangeEntrySchema.parse(e));
      expect(changes.map((c) => c.change)).toEqual(['created', 'credentials-reset']);
      await expect(
        run('user reset', ['--data', dir, ...database, '--name', 'auditor', '--action', 'search']),
      ).rejects.toThrow(UsageError);
    });

    it("replaces an API client's tokens on reset", async () => {
      const added = await run('user add', [
        '--data',
        dir,
        ...database,
        '--name',
        'feed',
        '--role',
        'api-client',
        '--scope',
        'state',
        '--action',
        'search',
      ]);
      const first = /^(vv_\S+)$/m.exec(added.out)![1]!;
      const reset = await run('user reset', [
        '--data',
        dir,
        ...database,
        '--name',
        'feed',
        '--action',
        'export',
      ]);
      expect(reset.out).toContain('Revoked 1 token(s)');
      const second = /^(vv_\S+)$/m.exec(reset.out)![1]!;
      await withStore(async (store) => {
        await expect(authenticateToken(store, first)).rejects.toMatchObject({
          code: 'TOKEN_INVALID',
        });
        expect((await authenticateToken(store, second)).actions).toEqual(['export']);
      });
      await expect(
        run('user reset', ['--data', dir, ...database, '--name', 'feed']),
      ).rejects.toThrow(UsageError);
      await run('user disable', ['--data', dir, ...database, '--name', 'feed']);
      await expect(
        run('user reset', ['--data', dir, ...database, '--name', 'feed', '--action', 'search']),
      ).rejects.toMatchObject({ code: 'PRINCIPAL_DISABLED' });
    });

    it('disables a user, who can then no longer sign in', async () => {
      const added = await run('user add', [
        '--data',
        dir,
        ...database,
        '--name',
        'staff',
        '--role',
        'county-staff',
        '--scope',
        '01',
      ]);
      const { password, secret } = credentialsOf(added.out);
      const disabled = await run('user disable', ['--data', dir, ...database, '--name', 'staff']);
      expect(disabled.out).toMatch(/^Disabled county-staff "staff"/);
      await withStore(async (store) => {
        await expect(
          login(store, {
            name: 'staff',
            password,
            code: totpCode(secret, new Date()),
            client: '127.0.0.1',
          }),
        ).rejects.toMatchObject({ code: 'LOGIN_FAILED', reason: 'disabled' });
      });
      await expect(
        run('user disable', ['--data', dir, ...database, '--name', 'nobody']),
      ).rejects.toMatchObject({ code: 'PRINCIPAL_NOT_FOUND' });
      const changes = (await logEntries(dir)).map((e) => PrincipalChangeEntrySchema.parse(e));
      expect(changes.map((c) => c.change)).toEqual(['created', 'disabled']);
    });

    it('refuses a database whose access tables a newer version migrated', async () => {
      await run('user add', [
        '--data',
        dir,
        ...database,
        '--name',
        'admin',
        '--role',
        'state-admin',
      ]);
      const handle = await openDatabase<{ store_migration: { name: string; applied_at: string } }>(
        location,
      );
      try {
        await handle.db
          .insertInto('store_migration')
          .values({ name: 'access-9999-future', applied_at: new Date().toISOString() })
          .execute();
      } finally {
        await handle.close();
      }
      await expect(
        run('user disable', ['--data', dir, ...database, '--name', 'admin']),
      ).rejects.toMatchObject({ code: 'SCHEMA_NEWER_THAN_CODE' });
    });

    it('refuses a bad name before touching anything, printing nothing', async () => {
      const capture = io();
      const command = USER_COMMANDS.find((c) => c.path.join(' ') === 'user add')!;
      await expect(
        command.run(
          [
            '--data',
            dir,
            ...database,
            '--name',
            'bad name',
            '--role',
            'auditor',
            '--scope',
            'state',
          ],
          capture,
        ),
      ).rejects.toMatchObject({ code: 'NAME_INVALID' });
      expect(capture.text().out).toBe('');
      await expect(run('user disable', ['--data', dir])).rejects.toThrow(UsageError);
      expect(await logEntries(dir)).toEqual([]);
    });
  });
}
