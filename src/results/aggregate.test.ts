import { describe, expect, it } from 'vitest';
import { contestResults, roundedPercent } from './aggregate.ts';
import type { ResultsData } from './aggregate.ts';
import type { Count, ReportingUnit } from './model.ts';

describe('roundedPercent', () => {
  it('rounds half to even at one decimal, exactly', () => {
    expect(roundedPercent(1225, 10000)).toBe(12.2);
    expect(roundedPercent(1235, 10000)).toBe(12.4);
    expect(roundedPercent(1, 3)).toBe(33.3);
    expect(roundedPercent(2, 3)).toBe(66.7);
    expect(roundedPercent(5, 0)).toBeNull();
  });
});

/** A state with two counties; precinct ballots as given; two choices split 60/40 (rounded). */
function data(precincts: Record<string, number[]>): ResultsData {
  const units: ReportingUnit[] = [
    { id: 'state:xx', name: 'XX', level: 'state', parentId: null, fips: null },
    { id: 'county:a', name: 'A', level: 'county', parentId: 'state:xx', fips: null },
    { id: 'county:b', name: 'B', level: 'county', parentId: 'state:xx', fips: null },
  ];
  const counts: Count[] = [];
  let line = 2;
  for (const [county, sizes] of Object.entries(precincts)) {
    sizes.forEach((n, i) => {
      const unitId = `precinct:${county}/${i}`;
      units.push({
        id: unitId,
        name: `P${i}`,
        level: 'precinct',
        parentId: `county:${county}`,
        fips: null,
      });
      const yes = Math.round(n * 0.6);
      for (const [choiceId, votes] of [
        ['x', yes],
        ['y', n - yes],
      ] as const) {
        counts.push({
          contestId: 'c',
          choiceId,
          unitId,
          mode: 'total',
          votes,
          computed: false,
          source: { file: 'f', line: line++ },
        });
      }
    });
  }
  return {
    election: { id: 'e', name: 'E', date: '2024-11-05', state: 'XX' },
    units,
    contests: [
      {
        id: 'c',
        name: 'Governor',
        kind: 'candidate',
        district: null,
        voteFor: 1,
        choices: [
          { id: 'x', name: 'X', party: null, writeIn: false },
          { id: 'y', name: 'Y', party: null, writeIn: false },
        ],
      },
    ],
    counts,
  };
}

function rowSums(r: NonNullable<ReturnType<typeof contestResults>>): number[] {
  return r.choices.map((_, k) => r.rows.reduce((s, row) => s + (row.votes[k] ?? 0), 0));
}

describe('contestResults ballot secrecy', () => {
  it('combines small units per parent, adds the next smallest when the combination is still small, keeps totals', () => {
    const d = data({ a: [100, 3, 4, 50], b: [200, 300] });
    const pub = contestResults(d, 'c', { view: 'public' })!;
    const office = contestResults(d, 'c', { view: 'office' })!;
    expect(pub.choices.map((c) => c.votes)).toEqual(office.choices.map((c) => c.votes));
    expect(rowSums(pub)).toEqual(pub.choices.map((c) => c.votes));
    const combined = pub.rows.filter((r) => r.level === 'combined');
    expect(combined).toHaveLength(1);
    // 3 + 4 ballots is below 10, so the next smallest (50) joins them.
    expect(combined[0]).toMatchObject({
      unitId: 'other-units:county:a',
      name: 'Other units in A',
      ballots: 57,
      combinedUnits: ['precinct:a/1', 'precinct:a/2', 'precinct:a/3'],
    });
    expect(pub.rows.map((r) => r.unitId)).not.toContain('precinct:a/1');
    expect(office.rows).toHaveLength(6);
    expect(Object.fromEntries(office.rows.map((r) => [r.unitId, r.suppression]))).toMatchObject({
      'precinct:a/0': null,
      'precinct:a/1': 'small-unit',
      'precinct:a/2': 'small-unit',
      'precinct:a/3': 'complementary',
    });
    expect(office.choices.map((c) => c.percent)).toEqual([60, 40]);
  });

  it('moves a county whose units are all small into its parent combination', () => {
    const d = data({ a: [2, 3], b: [200, 300, 400] });
    const pub = contestResults(d, 'c', { view: 'public' })!;
    const combined = pub.rows.filter((r) => r.level === 'combined');
    expect(combined).toHaveLength(1);
    // County A (5 ballots) joins the smallest row of its nearest relative, county B.
    expect(combined[0]?.parentId).toBe('state:xx');
    expect(combined[0]?.ballots).toBeGreaterThanOrEqual(10);
    expect(combined[0]?.combinedUnits).toEqual(
      expect.arrayContaining(['precinct:a/0', 'precinct:a/1', 'precinct:b/0']),
    );
    expect(rowSums(pub)).toEqual(pub.choices.map((c) => c.votes));
  });

  it('withholds a contest whose ballots are below the threshold in all', () => {
    const pub = contestResults(data({ a: [4, 3] }), 'c', { view: 'public' })!;
    expect(pub).toMatchObject({ withheld: true, totalVotes: null, rows: [] });
    expect(pub.choices.every((c) => c.votes === null && c.percent === null)).toBe(true);
    const office = contestResults(data({ a: [4, 3] }), 'c', { view: 'office' })!;
    expect(office.withheld).toBe(false);
    expect(office.totalVotes).toBe(7);
  });

  it('honours a configured threshold', () => {
    const d = data({ a: [100, 40, 50] });
    expect(
      contestResults(d, 'c', { view: 'public', smallUnitBallots: 45 })!.rows.some(
        (r) => r.level === 'combined',
      ),
    ).toBe(true);
    expect(
      contestResults(d, 'c', { view: 'public' })!.rows.some((r) => r.level === 'combined'),
    ).toBe(false);
  });

  it('counts only the finest units, and computes totals from modes where none is given', () => {
    const d = data({ a: [100] });
    const withCounty: ResultsData = {
      ...d,
      counts: [
        ...d.counts,
        // A county total beside its precinct: not counted again.
        {
          contestId: 'c',
          choiceId: 'x',
          unitId: 'county:a',
          mode: 'total',
          votes: 60,
          computed: false,
          source: { file: 'f', line: 90 },
        },
        // Modes only for a precinct of B.
        {
          contestId: 'c',
          choiceId: 'x',
          unitId: 'county:b',
          mode: 'absentee',
          votes: 7,
          computed: false,
          source: { file: 'f', line: 91 },
        },
        {
          contestId: 'c',
          choiceId: 'x',
          unitId: 'county:b',
          mode: 'early',
          votes: 8,
          computed: false,
          source: { file: 'f', line: 92 },
        },
      ],
    };
    const r = contestResults(withCounty, 'c', { view: 'office' })!;
    expect(r.choices.find((c) => c.choiceId === 'x')?.votes).toBe(60 + 15);
    expect(r.unitsExpected).toBe(2);
  });
});
