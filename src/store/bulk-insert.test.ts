import { sql } from 'kysely';
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { DIALECTS, createTestDatabase } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { bulkInsert } from './bulk-insert.ts';
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

    it('reports zero for no rows without touching the database', async () => {
      const report = await bulkInsert(handle, { table: 'item', columns: COLUMNS, rows: [] });
      expect(report).toEqual({ inserted: 0 });
    });
  });
}
