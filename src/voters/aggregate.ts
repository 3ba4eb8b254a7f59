// Statistics over protected attributes (race, ethnicity, gender, …). Protected attributes are
// never a filter or a sort key: the only way to see them in bulk is a table of counts per
// jurisdiction, computed by opening each record, with small cells suppressed so that no cell
// singles out a handful of voters. The suppression rules are in docs/design/lookup.md.
import type { KeyRing } from '../crypto/index.ts';
import type { Queryable } from '../store/index.ts';
import { openStoredRecord, VoterStoreError } from './record.ts';
import type { VotersTables } from './schema.ts';

/**
 * Smallest count published in a cell of a protected-attribute table. Cells from 1 to 9 are
 * suppressed: a count that small, crossed with a county and a public voter list, comes close to
 * naming the voters it counts. Ten is the common threshold of election and health statistics
 * (vxsuite uses the same privacy threshold).
 */
export const SMALL_CELL_THRESHOLD = 10;

/** Attributes a count may be grouped by: the protected roles of the layouts. */
export const AGGREGATE_ATTRIBUTES = [
  'race',
  'ethnicity',
  'gender',
  'language',
  'disability',
  'birthState',
] as const;

/** One of {@link AGGREGATE_ATTRIBUTES}. */
export type AggregateAttribute = (typeof AGGREGATE_ATTRIBUTES)[number];

/** Records opened per page while counting. */
const PAGE_SIZE = 2_000;

/** One row of the table: a jurisdiction, or the whole store. */
export interface AggregateRow {
  readonly jurisdiction: string;
  /** Voters counted; public anyway (the roll's public part gives it), so never suppressed. */
  readonly total: number;
  /** Count per value, in the order of `values`; null where suppressed. */
  readonly cells: readonly (number | null)[];
}

/** Counts of voters by a protected attribute, with small cells suppressed. */
export interface AggregateTable {
  readonly attribute: AggregateAttribute;
  readonly threshold: number;
  /** Values of the attribute as the voter files code them, sorted; '' is "not recorded". */
  readonly values: readonly string[];
  readonly rows: readonly AggregateRow[];
  /** Every jurisdiction counted, together. */
  readonly overall: AggregateRow;
  /** Cells suppressed, small ones and their complements together. */
  readonly suppressedCells: number;
}

/** Options of {@link countByProtectedAttribute}. */
export interface CountOptions {
  readonly attribute: AggregateAttribute;
  /** Jurisdictions to count; every one when absent. */
  readonly jurisdictions?: readonly string[];
}

/**
 * Counts current, not removed, not shredded voters by a protected attribute per jurisdiction,
 * opening each record, and suppresses small cells with {@link suppressSmallCells}. A voter whose
 * record has no such attribute counts under ''.
 * @throws VoterStoreError LOOKUP_QUERY_INVALID when `attribute` is not an aggregate attribute
 * @throws CryptoError ENVELOPE_INVALID when a record was altered (run verifyStore)
 */
export async function countByProtectedAttribute(
  q: Queryable<VotersTables>,
  ring: KeyRing,
  options: CountOptions,
): Promise<AggregateTable> {
  const { attribute } = options;
  if (!(AGGREGATE_ATTRIBUTES as readonly string[]).includes(attribute)) {
    throw new VoterStoreError(
      'LOOKUP_QUERY_INVALID',
      `Cannot count voters by "${String(attribute)}": expected one of ${AGGREGATE_ATTRIBUTES.join(', ')}`,
    );
  }
  const counts = new Map<string, Map<string, number>>();
  let after = '';
  for (;;) {
    let query = q.db
      .selectFrom('voter')
      .select([
        'voter_id',
        'jurisdiction',
        'envelope_version',
        'public_fields',
        'sealed',
        'key_version',
        'wrapped_key',
      ])
      .where('removed', '=', 0)
      .where('wrapped_key', 'is not', null)
      .where('voter_id', '>', after)
      .orderBy('voter_id')
      .limit(PAGE_SIZE);
    if (options.jurisdictions !== undefined) {
      if (options.jurisdictions.length === 0) break;
      query = query.where('jurisdiction', 'in', [...options.jurisdictions]);
    }
    const rows = await query.execute();
    for (const row of rows) {
      const sealed = openStoredRecord(ring, row);
      const column = sealed.r[attribute];
      const value = column === undefined ? '' : (sealed.p[column] ?? '');
      let perValue = counts.get(row.jurisdiction);
      if (perValue === undefined) {
        perValue = new Map();
        counts.set(row.jurisdiction, perValue);
      }
      perValue.set(value, (perValue.get(value) ?? 0) + 1);
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE_SIZE) break;
    after = last.voter_id;
  }
  const values = [...new Set([...counts.values()].flatMap((m) => [...m.keys()]))].sort();
  const jurisdictions = [...counts.keys()].sort();
  const matrix = jurisdictions.map((j) => values.map((v) => counts.get(j)?.get(v) ?? 0));
  const suppressed = suppressSmallCells(matrix);
  const overallCounts = values.map((_, i) => matrix.reduce((sum, row) => sum + (row[i] ?? 0), 0));
  const rows = jurisdictions.map((jurisdiction, j) => ({
    jurisdiction,
    total: (matrix[j] ?? []).reduce((a, b) => a + b, 0),
    cells: suppressed.cells[j] ?? [],
  }));
  return {
    attribute,
    threshold: SMALL_CELL_THRESHOLD,
    values,
    rows,
    overall: {
      jurisdiction: '*',
      total: overallCounts.reduce((a, b) => a + b, 0),
      cells: suppressed.overall,
    },
    suppressedCells: suppressed.count,
  };
}

/** Result of {@link suppressSmallCells}. */
export interface Suppression {
  /** The jurisdiction rows with suppressed cells as null. */
  readonly cells: readonly (readonly (number | null)[])[];
  /** The overall row (the column sums) with suppressed cells as null. */
  readonly overall: readonly (number | null)[];
  readonly count: number;
}

/**
 * Suppresses the cells of a table of counts (rows: jurisdictions, columns: values) so that no
 * published cell is small and no suppressed cell can be recovered by subtraction.
 *
 * 1. Primary suppression: every cell from 1 to {@link SMALL_CELL_THRESHOLD} − 1, in the rows and
 *    in the overall row (the column sums). Zeros are published.
 * 2. Complementary suppression. Row totals are public (the public part of the roll counts the
 *    voters of each jurisdiction), so each row is an equation total = Σ cells; each column is an
 *    equation overall[v] = Σ rows' cells[v]; the overall row sums to the grand total. An equation
 *    with exactly one suppressed member gives that member away, so the smallest published
 *    non-zero member of such an equation (or the smallest member when all are zero) is
 *    suppressed too, until no equation has exactly one.
 *
 * It prevents exact recovery from any single equation; bounds (a suppressed cell lies between 0
 * and its row total minus the published cells) remain, as in every cell-suppression scheme.
 */
export function suppressSmallCells(matrix: readonly (readonly number[])[]): Suppression {
  const width = matrix[0]?.length ?? 0;
  const overall = Array.from({ length: width }, (_, i) =>
    matrix.reduce((sum, row) => sum + (row[i] ?? 0), 0),
  );
  // Cells as one list: the rows, then the overall row.
  const grid = [...matrix.map((row) => [...row]), overall];
  const hidden = grid.map((row) => row.map((n) => n > 0 && n < SMALL_CELL_THRESHOLD));
  const equations: (readonly [number, number])[][] = [];
  for (let r = 0; r < grid.length; r++) {
    equations.push(Array.from({ length: width }, (_, c) => [r, c] as const));
  }
  for (let c = 0; c < width; c++) {
    equations.push(Array.from({ length: grid.length }, (_, r) => [r, c] as const));
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const members of equations) {
      const suppressedMembers = members.filter(([r, c]) => hidden[r]?.[c] === true);
      if (suppressedMembers.length !== 1) continue;
      const open = members.filter(([r, c]) => hidden[r]?.[c] !== true);
      if (open.length === 0) continue;
      const value = ([r, c]: readonly [number, number]): number => grid[r]?.[c] ?? 0;
      const candidates = open.some((m) => value(m) > 0) ? open.filter((m) => value(m) > 0) : open;
      const smallest = candidates.reduce((a, b) => (value(b) < value(a) ? b : a));
      const row = hidden[smallest[0]];
      if (row !== undefined) row[smallest[1]] = true;
      changed = true;
    }
  }
  const masked = grid.map((row, r) => row.map((n, c) => (hidden[r]?.[c] === true ? null : n)));
  return {
    cells: masked.slice(0, matrix.length),
    overall: masked[matrix.length] ?? [],
    count: hidden.flat().filter(Boolean).length,
  };
}
