import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { sql } from 'kysely';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DIALECTS, createTestDatabase, postgresServerUrl } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { openDatabase } from './database.ts';
import type { DatabaseHandle } from './database.ts';
import { StoreError } from './errors.ts';

interface Tables {
  precinct: { id: number; name: string };
  voter: { id: number; precinct_id: number };
}

async function createTables(handle: DatabaseHandle<Tables>): Promise<void> {
  await handle.db.schema
    .createTable('precinct')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .execute();
  await handle.db.schema
    .createTable('voter')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('precinct_id', 'integer', (c) => c.notNull().references('precinct.id'))
    .execute();
}

async function storeErrorOf(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StoreError) return error;
    throw error;
  }
  throw new Error('Expected a StoreError, got success');
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`openDatabase on ${dialect}`, () => {
    let testDb: TestDatabase;
    beforeAll(async () => {
      testDb = await createTestDatabase(dialect);
    });
    afterAll(async () => {
      await testDb.drop();
    });

    it('opens, writes and reads with explicit columns, and closes idempotently', async () => {
      const handle = await openDatabase<Tables>(testDb.location);
      expect(handle.dialect).toBe(dialect);
      await createTables(handle);
      await handle.db.insertInto('precinct').values({ id: 1, name: 'North 01' }).execute();
      const rows = await handle.db.selectFrom('precinct').select(['id', 'name']).execute();
      expect(rows).toEqual([{ id: 1, name: 'North 01' }]);
      await handle.close();
      await handle.close();
      await expect(handle.db.selectFrom('precinct').select('id').execute()).rejects.toThrow();
    });

    it('keeps data across a reopen', async () => {
      const handle = await openDatabase<Tables>(testDb.location);
      try {
        const row = await handle.db
          .selectFrom('precinct')
          .select('name')
          .where('id', '=', 1)
          .executeTakeFirst();
        expect(row).toEqual({ name: 'North 01' });
      } finally {
        await handle.close();
      }
    });

    it('enforces foreign keys', async () => {
      const handle = await openDatabase<Tables>(testDb.location);
      try {
        await expect(
          handle.db.insertInto('voter').values({ id: 1, precinct_id: 99 }).execute(),
        ).rejects.toThrow(/foreign key/i);
        await handle.db.insertInto('voter').values({ id: 1, precinct_id: 1 }).execute();
      } finally {
        await handle.close();
      }
    });

    it('returns counts and 64-bit integers as numbers', async () => {
      const handle = await openDatabase<Tables>(testDb.location);
      try {
        const { count } = await handle.db
          .selectFrom('precinct')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .executeTakeFirstOrThrow();
        expect(count).toBe(1);
        const { rows } = await sql<{
          big: number;
        }>`select cast(${2 ** 40} as bigint) * 2 as big`.execute(handle.db);
        expect(rows[0]?.big).toBe(2 ** 41);
      } finally {
        await handle.close();
      }
    });
  });
}

describe('openDatabase on a SQLite file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'votervault-store-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file and its WAL with mode 0600 and sets durable, safe pragmas', async () => {
    const path = join(dir, 'new.sqlite3');
    const handle = await openDatabase<Tables>(path);
    try {
      await createTables(handle);
      await handle.db.insertInto('precinct').values({ id: 1, name: 'North 01' }).execute();
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
      const pragma = async (name: string): Promise<unknown> => {
        const { rows } = await sql<Record<string, unknown>>`select * from ${sql.raw(
          `pragma_${name}`,
        )}`.execute(handle.db);
        return Object.values(rows[0] ?? {})[0];
      };
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('synchronous')).toBe(2); // FULL
      expect(await pragma('foreign_keys')).toBe(1);
      expect(await pragma('secure_delete')).toBe(1);
      expect(await pragma('trusted_schema')).toBe(0);
      expect(await pragma('busy_timeout')).toBe(5000);
    } finally {
      await handle.close();
    }
  });

  it('refuses an existing file that other users may read', async () => {
    const path = join(dir, 'shared.sqlite3');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    const error = await storeErrorOf(openDatabase(path));
    expect(error.code).toBe('DATABASE_FILE_INSECURE');
    expect(error.message).toContain('0644');
    expect(statSync(path).mode & 0o777).toBe(0o644);
  });

  it('refuses a file that is not a database', async () => {
    const path = join(dir, 'garbage.sqlite3');
    writeFileSync(path, 'not a database, just text that is long enough to look like a header', {
      mode: 0o600,
    });
    const error = await storeErrorOf(openDatabase(path));
    expect(error.code).toBe('DATABASE_OPEN_FAILED');
  });

  it('reports a missing directory', async () => {
    const error = await storeErrorOf(openDatabase(join(dir, 'missing', 'vv.sqlite3')));
    expect(error.code).toBe('DATABASE_OPEN_FAILED');
    expect(error.message).toContain('missing');
  });

  it('opens a private in-memory database', async () => {
    const handle = await openDatabase<Tables>(':memory:');
    try {
      expect(handle.dialect).toBe('sqlite');
      await createTables(handle);
      const rows = await handle.db.selectFrom('precinct').select('id').execute();
      expect(rows).toEqual([]);
    } finally {
      await handle.close();
    }
  });
});

describe('openDatabase on PostgreSQL errors', () => {
  const secret = 'Hunter2-not-a-real-secret';

  function expectNoSecret(error: StoreError): void {
    expect(error.message).not.toContain(secret);
    expect(inspect(error, { depth: Infinity })).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(secret);
  }

  it('reports an unreachable server without quoting the password', async () => {
    const port = await closedPort();
    const error = await storeErrorOf(
      openDatabase(`postgres://alice:${secret}@127.0.0.1:${port}/vv`),
    );
    expect(error.code).toBe('DATABASE_UNREACHABLE');
    expect(error.message).toContain(`postgres://alice:***@127.0.0.1:${port}/vv`);
    expectNoSecret(error);
  });

  it('reports refused credentials without quoting the password', async () => {
    const url = new URL(postgresServerUrl());
    url.username = 'vv_no_such_role';
    url.password = secret;
    const error = await storeErrorOf(openDatabase(url.toString()));
    expect(error.code).toBe('DATABASE_AUTH');
    expect(error.message).toContain('vv_no_such_role:***@');
    expectNoSecret(error);
  });

  it('reports a missing database', async () => {
    const url = new URL(postgresServerUrl());
    url.pathname = '/vv_no_such_database';
    const error = await storeErrorOf(openDatabase(url.toString()));
    expect(error.code).toBe('DATABASE_NOT_FOUND');
    expect(error.message).toContain('vv_no_such_database');
  });

  it('refuses to round a 64-bit integer beyond the safe range', async () => {
    const testDb = await createTestDatabase('postgres');
    const handle = await openDatabase(testDb.location);
    try {
      await expect(
        sql`select cast('9007199254740993' as bigint) as big`.execute(handle.db),
      ).rejects.toThrow(/"9007199254740993".*safe integer/);
    } finally {
      await handle.close();
      await testDb.drop();
    }
  });

  it('refuses URLs of other databases', async () => {
    const error = await storeErrorOf(openDatabase(`mysql://root:${secret}@127.0.0.1/vv`));
    expect(error.code).toBe('LOCATION_INVALID');
    expectNoSecret(error);
  });
});
