import { sql } from 'kysely';
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { DIALECTS, createTestDatabase } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { bulkInsert, withSqliteWriter } from './bulk-insert.ts';
import { openDatabase } from './database.ts';
import type { DatabaseHandle } from './database.ts';
import { StoreError } from './errors.ts';
import { withTransaction } from './transaction.ts';

interface Tables {
  item: { id: number; name: string; note: string | null; tag: Uint8Array };
}

const ROW_COUNT = 100_000;

function rows(count: number, from = 0): Tables['item'][] {
  return Array.from({ length: count }, (_, index) => {
    const id = from + index;
    return { id, name: `name-${id}`, note: null, tag: Uint8Array.of(id & 0xff, (id >> 8) & 0xff) };
  });
}

const COLUMNS = ['id', 'name', 'note', 'tag'] as const;

for (const dialect of DIALECTS) {
  describe(`bulkInsert on ${dialect}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle<Tables>;

    beforeAll(async () => {
      testDb = await createTestDatabase(dialect);
      handle = await openDatabase<Tables>(testDb.location);
      await handle.db.schema
        .createTable('item')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('note', 'text')
        .addColumn('tag', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
        .execute();
    });
    afterAll(async () => {
      try {
        await handle.close();
      } finally {
        await testDb.drop();
      }
    });
    beforeEach(async () => {
      await handle.db.deleteFrom('item').execute();
    });

    async function count(): Promise<number> {
      const row = await handle.db
        .selectFrom('item')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return row.n;
    }

    it(`inserts ${ROW_COUNT} rows quickly, values intact`, async () => {
      const started = performance.now();
      const report = await bulkInsert(handle, {
        table: 'item',
        columns: COLUMNS,
        rows: rows(ROW_COUNT),
      });
      const elapsed = performance.now() - started;
      expect(report).toEqual({ inserted: ROW_COUNT });
      // Typically well under a second on SQLite and a few seconds on PostgreSQL.
      expect(elapsed).toBeLessThan(15_000);
      expect(await count()).toBe(ROW_COUNT);
      const { rows: sums } = await sql<{
        total: number;
      }>`select sum(id) as total from item`.execute(handle.db);
      expect(Number(sums[0]?.total)).toBe((ROW_COUNT * (ROW_COUNT - 1)) / 2);
      const sample = await handle.db
        .selectFrom('item')
        .select(['id', 'name', 'note', 'tag'])
        .where('id', '=', 12_345)
        .executeTakeFirstOrThrow();
      expect(sample.name).toBe('name-12345');
      expect(sample.note).toBeNull();
      expect([...sample.tag]).toEqual([12_345 & 0xff, (12_345 >> 8) & 0xff]);
    });

    it('inserts nothing when one row breaks a constraint, and keeps values out of the message', async () => {
      const batch = rows(2_000);
      batch[1_500] = { id: 1_500, name: 'name-7', note: 'secret-note', tag: Uint8Array.of(0) };
      let caught: unknown;
      try {
        await bulkInsert(handle, { table: 'item', columns: COLUMNS, rows: batch });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(StoreError);
      expect((caught as StoreError).code).toBe('CONSTRAINT_VIOLATION');
      expect((caught as StoreError).message).toContain('unique');
      expect((caught as StoreError).message).not.toContain('name-7');
      expect(await count()).toBe(0);
    });

    it('writes NULL for a listed column a row leaves out', async () => {
      await bulkInsert(handle, {
        table: 'item',
        columns: COLUMNS,
        rows: [{ id: 1, name: 'one', tag: Uint8Array.of(1) }],
      });
      const row = await handle.db.selectFrom('item').select(['note']).executeTakeFirstOrThrow();
      expect(row.note).toBeNull();
    });

    it('joins an enclosing transaction and rolls back with it', async () => {
      await handle.db
        .insertInto('item')
        .values({ id: -1, name: 'kept', note: null, tag: Uint8Array.of(0) })
        .execute();
      await expect(
        withTransaction(handle, async (tx) => {
          const report = await bulkInsert(tx, {
            table: 'item',
            columns: COLUMNS,
            rows: rows(1_000),
          });
          expect(report.inserted).toBe(1_000);
          const inside = await tx.db
            .selectFrom('item')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow();
          expect(inside.n).toBe(1_001);
          throw new Error('Abandon the import');
        }),
      ).rejects.toThrow('Abandon the import');
      expect(await count()).toBe(1);
    });

    it('inserts through one array per column when given the column types', async () => {
      const report = await bulkInsert(handle, {
        table: 'item',
        columns: COLUMNS,
        postgresTypes: ['integer', 'text', 'text', 'bytea'],
        rows: rows(5_001),
      });
      expect(report).toEqual({ inserted: 5_001 });
      expect(await count()).toBe(5_001);
      const sample = await handle.db
        .selectFrom('item')
        .select(['name', 'note', 'tag'])
        .where('id', '=', 4_321)
        .executeTakeFirstOrThrow();
      expect(sample).toMatchObject({ name: 'name-4321', note: null });
      expect([...sample.tag]).toEqual([4_321 & 0xff, (4_321 >> 8) & 0xff]);
      const clash = rows(3_000, 10_000);
      clash[2_500] = { id: 2_500_000, name: 'name-7', note: null, tag: Uint8Array.of(0) };
      await expect(
        bulkInsert(handle, {
          table: 'item',
          columns: COLUMNS,
          postgresTypes: ['integer', 'text', 'text', 'bytea'],
          rows: clash,
        }),
      ).rejects.toMatchObject({ code: 'CONSTRAINT_VIOLATION' });
      expect(await count()).toBe(5_001);
    });

    it('reports zero for no rows without touching the database', async () => {
      const report = await bulkInsert(handle, { table: 'item', columns: COLUMNS, rows: [] });
      expect(report).toEqual({ inserted: 0 });
    });
  });
}

describe('withSqliteWriter', () => {
  let testDb: TestDatabase;
  let handle: DatabaseHandle<Tables>;
  const insert = 'insert into item (id, name, note, tag) values (?, ?, ?, ?)';

  beforeAll(async () => {
    testDb = await createTestDatabase('sqlite');
    handle = await openDatabase<Tables>(testDb.location);
    await handle.db.schema
      .createTable('item')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('note', 'text')
      .addColumn('tag', 'blob', (c) => c.notNull())
      .execute();
  });
  afterAll(async () => {
    try {
      await handle.close();
    } finally {
      await testDb.drop();
    }
  });
  beforeEach(async () => {
    await handle.db.deleteFrom('item').execute();
  });

  it('writes in one transaction and undoes all of it when the callback throws', async () => {
    const changed = await withSqliteWriter(handle, (writer) => {
      writer.run(insert, [1, 'one', null, Buffer.of(1)]);
      return writer.run(insert, [2, 'two', 'note', Buffer.of(2)]);
    });
    expect(changed).toBe(1);
    await expect(
      withSqliteWriter(handle, (writer) => {
        writer.run(insert, [3, 'three', null, Buffer.of(3)]);
        expect(writer.value('select count(*) from item', [])).toBe(3);
        throw new Error('Abandon the batch');
      }),
    ).rejects.toThrow('Abandon the batch');
    const names = await handle.db.selectFrom('item').select('name').orderBy('id').execute();
    expect(names.map((row) => row.name)).toEqual(['one', 'two']);
    expect(
      await withSqliteWriter(handle, (writer) =>
        writer.value('select name from item where id = ?', [9]),
      ),
    ).toBeUndefined();
  });

  it('joins an enclosing transaction, and keeps values out of constraint errors', async () => {
    await expect(
      withTransaction(handle, async (tx) => {
        await withSqliteWriter(tx, (writer) => writer.run(insert, [1, 'kept', null, Buffer.of(1)]));
        const failed = await withSqliteWriter(tx, (writer) =>
          writer.run(insert, [2, 'kept', 'secret-note', Buffer.of(2)]),
        ).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failed).toBeInstanceOf(StoreError);
        expect((failed as StoreError).code).toBe('CONSTRAINT_VIOLATION');
        expect((failed as StoreError).message).not.toContain('kept');
        const inside = await tx.db.selectFrom('item').select('name').execute();
        expect(inside).toEqual([{ name: 'kept' }]);
        throw new Error('Abandon the import');
      }),
    ).rejects.toThrow('Abandon the import');
    expect(await handle.db.selectFrom('item').select('id').execute()).toEqual([]);
  });
});
