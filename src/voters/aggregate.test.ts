import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { createKeyRing } from '../crypto/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import { migrate, openDatabase } from '../store/index.ts';
import type { DatabaseHandle } from '../store/index.ts';
import {
  countByProtectedAttribute,
  SMALL_CELL_THRESHOLD,
  suppressSmallCells,
} from './aggregate.ts';
import type { AggregateAttribute } from './aggregate.ts';
import { createVoterGenerator } from './generate.ts';
import { columnIndex, loadLayout } from './layout.ts';
import { prepareVoterRow, shredVoter, writeVoterRows } from './record.ts';
import type { PreparedVoterRow } from './record.ts';
import { VOTERS_MIGRATIONS } from './schema.ts';
import type { VotersTables } from './schema.ts';

/** Every equation of the table (rows with their public totals, columns with the overall row). */
function equations(
  cells: readonly (readonly (number | null)[])[],
  overall: readonly (number | null)[],
): (number | null)[][] {
  const grid = [...cells, overall];
  const width = overall.length;
  return [
    ...grid.map((row) => [...row]),
    ...Array.from({ length: width }, (_, c) => grid.map((row) => row[c] ?? null)),
  ];
}

describe('suppressSmallCells', () => {
  it('suppresses small cells and a complement in each equation', () => {
    const result = suppressSmallCells([
      [120, 4, 30],
      [200, 50, 60],
    ]);
    // 4 is small; its row needs a complement (30), and so does its column (50), whose row then
    // needs one more (60), whose column's partner (30) is already hidden.
    expect(result.cells).toEqual([
      [120, null, null],
      [200, null, null],
    ]);
    expect(result.overall).toEqual([320, 54, 90]);
    expect(result.count).toBe(4);
  });

  it('publishes zeros and tables without small cells as they are', () => {
    const result = suppressSmallCells([
      [0, 40],
      [25, 0],
    ]);
    expect(result.cells).toEqual([
      [0, 40],
      [25, 0],
    ]);
    expect(result.count).toBe(0);
  });

  it('never publishes a small cell nor leaves one hidden cell alone in an equation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat({ max: 40 }), { minLength: 2, maxLength: 5 }), {
          minLength: 1,
          maxLength: 6,
        }),
        (ragged) => {
          const width = Math.min(...ragged.map((row) => row.length));
          const matrix = ragged.map((row) => row.slice(0, width));
          const { cells, overall } = suppressSmallCells(matrix);
          for (const [r, row] of cells.entries()) {
            for (const [c, value] of row.entries()) {
              if (value !== null) {
                expect(value).toBe(matrix[r]?.[c]);
                expect(value === 0 || value >= SMALL_CELL_THRESHOLD).toBe(true);
              }
            }
          }
          for (const value of overall) {
            if (value !== null) expect(value === 0 || value >= SMALL_CELL_THRESHOLD).toBe(true);
          }
          for (const equation of equations(cells, overall)) {
            expect(equation.filter((v) => v === null).length).not.toBe(1);
          }
        },
      ),
    );
  });
});

const NC = loadLayout('nc');

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let db: DatabaseHandle<VotersTables>;
    let keysRoot: string;
    let ring: KeyRing;
    const expected = new Map<string, Map<string, number>>();
    let shredded = '';

    beforeAll(async () => {
      keysRoot = await mkdtemp(join(tmpdir(), 'votervault-aggregate-'));
      ring = await createKeyRing({ dir: join(keysRoot, 'keys') });
      testDb = await createTestDatabase(dialect);
      db = await openDatabase<VotersTables>(testDb.location);
      await migrate(db, VOTERS_MIGRATIONS);
      const generator = createVoterGenerator(NC, { seed: 51 });
      const rows: PreparedVoterRow[] = [];
      const county = columnIndex(NC, 'county_id');
      const race = columnIndex(NC, 'race_code');
      for (let i = 0; i < 400; i++) {
        const fields = generator.next();
        // Three counties, so that cells are both large and small.
        const countyCode = ['1', '2', '3'][i % 3]!;
        fields[county] = countyCode;
        const outcome = prepareVoterRow(ring, NC, fields, undefined);
        if (outcome.kind !== 'prepared') throw new Error('row not prepared');
        rows.push(outcome.row);
        if (i === 0) {
          shredded = outcome.row.voterId;
          continue;
        }
        const perValue = expected.get(countyCode) ?? new Map<string, number>();
        perValue.set(fields[race] ?? '', (perValue.get(fields[race] ?? '') ?? 0) + 1);
        expected.set(countyCode, perValue);
      }
      await writeVoterRows(db, rows, { importId: 'i1', changedAt: '2026-01-01T00:00:00.000Z' });
      await shredVoter(db, shredded);
    });

    afterAll(async () => {
      await db.close();
      await testDb.drop();
      await rm(keysRoot, { recursive: true, force: true });
    });

    it('counts race per county from the sealed records, suppressing small cells', async () => {
      const table = await countByProtectedAttribute(db, ring, { attribute: 'race' });
      expect(table.threshold).toBe(SMALL_CELL_THRESHOLD);
      expect(table.rows.map((row) => row.jurisdiction)).toEqual(['1', '2', '3']);
      expect(table.overall.total).toBe(399);
      let small = 0;
      for (const row of table.rows) {
        const counts = expected.get(row.jurisdiction)!;
        expect(row.total).toBe([...counts.values()].reduce((a, b) => a + b, 0));
        for (const [i, value] of table.values.entries()) {
          const actual = counts.get(value) ?? 0;
          const cell = row.cells[i];
          if (actual > 0 && actual < SMALL_CELL_THRESHOLD) {
            small++;
            expect(cell).toBeNull();
          } else if (cell !== null) {
            expect(cell).toBe(actual);
          }
        }
      }
      expect(small).toBeGreaterThan(0);
      expect(table.suppressedCells).toBeGreaterThan(small);
      for (const equation of equations(
        table.rows.map((row) => row.cells),
        table.overall.cells,
      )) {
        expect(equation.filter((v) => v === null).length).not.toBe(1);
      }
    });

    it('counts only the jurisdictions asked for and refuses other attributes', async () => {
      const table = await countByProtectedAttribute(db, ring, {
        attribute: 'gender',
        jurisdictions: ['2'],
      });
      expect(table.rows.map((row) => row.jurisdiction)).toEqual(['2']);
      expect(table.values).toEqual(expect.arrayContaining(['F', 'M']));
      await expect(
        countByProtectedAttribute(db, ring, { attribute: 'party' as AggregateAttribute }),
      ).rejects.toMatchObject({ code: 'LOOKUP_QUERY_INVALID' });
    });
  });
}
