import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { DIALECTS, createTestDatabase } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { openDatabase } from './database.ts';
import type { DatabaseHandle } from './database.ts';
import { StoreError } from './errors.ts';
import { withTransaction } from './transaction.ts';

interface Tables {
  counter: { id: number; n: number };
}

for (const dialect of DIALECTS) {
  describe(`withTransaction on ${dialect}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle<Tables>;

    beforeEach(async () => {
      testDb = await createTestDatabase(dialect);
      handle = await openDatabase<Tables>(testDb.location);
      await handle.db.schema
        .createTable('counter')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('n', 'integer', (c) => c.notNull())
        .execute();
      await handle.db.insertInto('counter').values({ id: 1, n: 0 }).execute();
    });
    afterEach(async () => {
      try {
        await handle.close();
      } finally {
        await testDb.drop();
      }
    });

    async function counter(): Promise<number> {
      const row = await handle.db
        .selectFrom('counter')
        .select('n')
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      return row.n;
    }

    it('commits and returns what the function returns', async () => {
      const result = await withTransaction(handle, async (tx) => {
        expect(tx.dialect).toBe(dialect);
        await tx.db.updateTable('counter').set({ n: 5 }).where('id', '=', 1).execute();
        return 'done';
      });
      expect(result).toBe('done');
      expect(await counter()).toBe(5);
    });

    it('rolls back when the function throws and rethrows its error unchanged', async () => {
      const failure = new Error('Import aborted');
      await expect(
        withTransaction(handle, async (tx) => {
          await tx.db.updateTable('counter').set({ n: 7 }).where('id', '=', 1).execute();
          await tx.db.insertInto('counter').values({ id: 2, n: 1 }).execute();
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await counter()).toBe(0);
      const rows = await handle.db.selectFrom('counter').select('id').execute();
      expect(rows).toEqual([{ id: 1 }]);
    });

    it('rolls back when a statement fails', async () => {
      await expect(
        withTransaction(handle, async (tx) => {
          await tx.db.updateTable('counter').set({ n: 3 }).where('id', '=', 1).execute();
          await tx.db.insertInto('counter').values({ id: 1, n: 9 }).execute();
        }),
      ).rejects.toThrow();
      expect(await counter()).toBe(0);
    });

    it('joins an enclosing transaction, which then decides for both', async () => {
      await expect(
        withTransaction(handle, async (outer) => {
          await withTransaction(outer, async (inner) => {
            expect(inner.db).toBe(outer.db);
            await inner.db.updateTable('counter').set({ n: 4 }).where('id', '=', 1).execute();
          });
          throw new Error('Outer fails after inner succeeded');
        }),
      ).rejects.toThrow('Outer fails');
      expect(await counter()).toBe(0);
    });

    it('runs concurrent transactions of one process one after another', async () => {
      const increment = (): Promise<void> =>
        withTransaction(
          handle,
          async (tx) => {
            const { n } = await tx.db
              .selectFrom('counter')
              .select('n')
              .where('id', '=', 1)
              .executeTakeFirstOrThrow();
            await tx.db
              .updateTable('counter')
              .set({ n: n + 1 })
              .where('id', '=', 1)
              .execute();
          },
          { maxAttempts: 20 },
        );
      await Promise.all(Array.from({ length: 5 }, increment));
      expect(await counter()).toBe(5);
    });

    it('refuses writes in a read-only transaction and allows them again after', async () => {
      const read = await withTransaction(
        handle,
        (tx) => tx.db.selectFrom('counter').select('n').executeTakeFirstOrThrow(),
        { readOnly: true },
      );
      expect(read).toEqual({ n: 0 });
      await expect(
        withTransaction(
          handle,
          (tx) => tx.db.updateTable('counter').set({ n: 1 }).where('id', '=', 1).execute(),
          { readOnly: true },
        ),
      ).rejects.toThrow(/read-?only/i);
      expect(await counter()).toBe(0);
      await withTransaction(handle, (tx) =>
        tx.db.updateTable('counter').set({ n: 2 }).where('id', '=', 1).execute(),
      );
      await handle.db.updateTable('counter').set({ n: 3 }).where('id', '=', 1).execute();
      expect(await counter()).toBe(3);
    });

    if (dialect === 'postgres') {
      // Two transactions both read the counter before either writes: under serializable
      // isolation the second writer fails with 40001 and must run again on fresh data.
      function racingIncrements(maxAttempts: number): {
        run: () => Promise<PromiseSettledResult<void>[]>;
        calls: () => number;
      } {
        let calls = 0;
        let arrived = 0;
        let release = (): void => undefined;
        const bothRead = new Promise<void>((resolve) => (release = resolve));
        const increment = (): Promise<void> =>
          withTransaction(
            handle,
            async (tx) => {
              calls++;
              const { n } = await tx.db
                .selectFrom('counter')
                .select('n')
                .where('id', '=', 1)
                .executeTakeFirstOrThrow();
              if (calls <= 2) {
                arrived++;
                if (arrived === 2) release();
                await bothRead;
              }
              await tx.db
                .updateTable('counter')
                .set({ n: n + 1 })
                .where('id', '=', 1)
                .execute();
            },
            { maxAttempts },
          );
        return { run: () => Promise.allSettled([increment(), increment()]), calls: () => calls };
      }

      it('retries a transaction that lost a serialization conflict', async () => {
        const race = racingIncrements(5);
        const outcomes = await race.run();
        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
        expect(race.calls()).toBe(3);
        expect(await counter()).toBe(2);
      });

      it('reports TRANSACTION_CONFLICT when the attempts run out', async () => {
        const race = racingIncrements(1);
        const outcomes = await race.run();
        const failures = outcomes.filter((o) => o.status === 'rejected');
        expect(failures).toHaveLength(1);
        const reason: unknown = (failures[0] as PromiseRejectedResult).reason;
        expect(reason).toBeInstanceOf(StoreError);
        expect((reason as StoreError).code).toBe('TRANSACTION_CONFLICT');
        expect(await counter()).toBe(1);
      });
    }

    if (dialect === 'sqlite') {
      it('reports DATABASE_BUSY when another process holds the write lock too long', async () => {
        const other = await openDatabase<Tables>(testDb.location, { busyTimeoutMs: 50 });
        let started = (): void => undefined;
        const isStarted = new Promise<void>((resolve) => (started = resolve));
        let finish = (): void => undefined;
        const finished = new Promise<void>((resolve) => (finish = resolve));
        try {
          const holder = withTransaction(handle, async (tx) => {
            await tx.db.updateTable('counter').set({ n: 1 }).where('id', '=', 1).execute();
            started();
            await finished;
          });
          await isStarted;
          let caught: unknown;
          try {
            await withTransaction(other, (tx) =>
              tx.db.updateTable('counter').set({ n: 2 }).where('id', '=', 1).execute(),
            );
          } catch (error) {
            caught = error;
          }
          expect(caught).toBeInstanceOf(StoreError);
          expect((caught as StoreError).code).toBe('DATABASE_BUSY');
          finish();
          await holder;
          expect(await counter()).toBe(1);
        } finally {
          finish();
          await other.close();
        }
      });
    }
  });
}
