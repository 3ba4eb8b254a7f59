import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { AssertionError } from '../basics/index.ts';
import { DIALECTS, createTestDatabase } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { openDatabase } from './database.ts';
import type { DatabaseHandle } from './database.ts';
import { StoreError } from './errors.ts';
import { MIGRATION_TABLE, MigrationFailedError, migrate, migrationState } from './migrate.ts';
import type { Migration, MigrationReport } from './migrate.ts';
import { SLOW_MIGRATIONS } from './testdata/migrate-process.ts';

const run = promisify(execFile);
const MIGRATE_PROCESS = fileURLToPath(new URL('testdata/migrate-process.ts', import.meta.url));

interface Tables {
  precinct: { id: number; name: string; county: string | null };
  note: { id: number; body: string };
  store_migration: { name: string; applied_at: string };
}

const createPrecinct: Migration = {
  name: 'voters-0001-create-precinct',
  async up(db) {
    await db.schema
      .createTable('precinct')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .execute();
  },
};

// Depends on the first: fails if the order is wrong.
const addCounty: Migration = {
  name: 'voters-0002-add-county',
  async up(db) {
    await db.schema.alterTable('precinct').addColumn('county', 'text').execute();
    await db.insertInto('precinct').values({ id: 1, name: 'North 01', county: 'Wake' }).execute();
  },
};

const createNote: Migration = {
  name: 'incidents-0001-create-note',
  async up(db, dialect) {
    await db.schema
      .createTable('note')
      .addColumn('id', dialect === 'postgres' ? 'bigint' : 'integer', (c) => c.primaryKey())
      .addColumn('body', 'text', (c) => c.notNull())
      .execute();
  },
};

function failing(name: string): Migration {
  return {
    name,
    async up(db) {
      // Creates a table, then fails: the table must not survive.
      await db.schema.createTable('half_done').addColumn('id', 'integer').execute();
      throw new Error('Column type not supported');
    },
  };
}

for (const dialect of DIALECTS) {
  describe(`migrate on ${dialect}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle<Tables>;

    beforeEach(async () => {
      testDb = await createTestDatabase(dialect);
      handle = await openDatabase<Tables>(testDb.location);
    });
    afterEach(async () => {
      try {
        await handle.close();
      } finally {
        await testDb.drop();
      }
    });

    async function recorded(): Promise<string[]> {
      const rows = await handle.db
        .selectFrom('store_migration')
        .select('name')
        .orderBy('applied_at')
        .orderBy('name')
        .execute();
      return rows.map((row) => row.name);
    }

    async function tableExists(name: string): Promise<boolean> {
      const query =
        dialect === 'sqlite'
          ? sql<{ n: number }>`select count(*) as n from sqlite_master where name = ${name}`
          : sql<{ n: number }>`select count(*) as n from pg_tables where tablename = ${name}`;
      const { rows } = await query.execute(handle.db);
      return (rows[0]?.n ?? 0) > 0;
    }

    it('runs migrations in list order and records them', async () => {
      const report = await migrate(handle, [createPrecinct, addCounty]);
      expect(report).toEqual({
        results: [
          { migrationName: 'voters-0001-create-precinct', direction: 'Up', status: 'Success' },
          { migrationName: 'voters-0002-add-county', direction: 'Up', status: 'Success' },
        ],
        alreadyApplied: 0,
      });
      const rows = await handle.db.selectFrom('precinct').select(['name', 'county']).execute();
      expect(rows).toEqual([{ name: 'North 01', county: 'Wake' }]);
      expect(new Set(await recorded())).toEqual(
        new Set(['voters-0001-create-precinct', 'voters-0002-add-county']),
      );
    });

    it('does nothing the second time', async () => {
      await migrate(handle, [createPrecinct, addCounty]);
      const report = await migrate(handle, [createPrecinct, addCounty]);
      expect(report).toEqual({ results: [], alreadyApplied: 2 });
      const rows = await handle.db.selectFrom('precinct').select('id').execute();
      expect(rows).toHaveLength(1);
    });

    it("runs a domain's new migration even when it sits before applied ones", async () => {
      await migrate(handle, [createPrecinct, createNote]);
      const report = await migrate(handle, [createPrecinct, addCounty, createNote]);
      expect(report.results.map((r) => r.migrationName)).toEqual(['voters-0002-add-county']);
      expect(report.alreadyApplied).toBe(2);
    });

    it('refuses a database with migrations the code does not know, changing nothing', async () => {
      await migrate(handle, [createPrecinct, addCounty]);
      let caught: unknown;
      try {
        await migrate(handle, [createPrecinct, createNote]);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(StoreError);
      expect((caught as StoreError).code).toBe('SCHEMA_NEWER_THAN_CODE');
      expect((caught as StoreError).message).toContain('"voters-0002-add-county"');
      expect(await tableExists('note')).toBe(false);
      expect(await handle.db.selectFrom('precinct').select('county').execute()).toEqual([
        { county: 'Wake' },
      ]);
      expect(await migrationState(handle, [createPrecinct, createNote])).toEqual({
        applied: ['voters-0001-create-precinct'],
        pending: ['incidents-0001-create-note'],
        unknown: ['voters-0002-add-county'],
      });
    });

    it('stops at a failing migration, rolls it back and reports every outcome', async () => {
      const broken = failing('voters-0002-broken');
      let caught: unknown;
      try {
        await migrate(handle, [createPrecinct, broken, createNote]);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(MigrationFailedError);
      const failure = caught as MigrationFailedError;
      expect(failure.code).toBe('MIGRATION_FAILED');
      expect(failure.message).toContain('"voters-0002-broken"');
      expect(failure.message).toContain('Column type not supported');
      expect(failure.report.results.map((r) => r.status)).toEqual([
        'Success',
        'Error',
        'NotExecuted',
      ]);
      expect(await tableExists('half_done')).toBe(false);
      expect(await tableExists('note')).toBe(false);
      expect(await recorded()).toEqual(['voters-0001-create-precinct']);

      const retry = await migrate(handle, [createPrecinct, addCounty, createNote]);
      expect(retry.results.map((r) => r.status)).toEqual(['Success', 'Success']);
    });

    it('applies each migration once when several processes migrate at once', async () => {
      const outputs = await Promise.all(
        [1, 2, 3].map(() =>
          run(process.execPath, [MIGRATE_PROCESS, testDb.location], { encoding: 'utf8' }),
        ),
      );
      const reports = outputs.map(({ stdout }) => JSON.parse(stdout) as MigrationReport);
      const successes = reports.flatMap((r) => r.results).filter((r) => r.status === 'Success');
      expect(successes.map((r) => r.migrationName).sort()).toEqual(
        SLOW_MIGRATIONS.map((m) => m.name),
      );
      const { rows } = await sql<{ n: number }>`select count(*) as n from ballot`.execute(
        handle.db,
      );
      expect(rows[0]?.n).toBe(1);
    });

    it('reports the state of a database it never migrated without creating anything', async () => {
      expect(await migrationState(handle, [createPrecinct])).toEqual({
        applied: [],
        pending: ['voters-0001-create-precinct'],
        unknown: [],
      });
      expect(await tableExists(MIGRATION_TABLE)).toBe(false);
    });

    it('refuses a list with two migrations of one name as a bug', async () => {
      await expect(migrate(handle, [createPrecinct, createPrecinct])).rejects.toBeInstanceOf(
        AssertionError,
      );
    });
  });
}
