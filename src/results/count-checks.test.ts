import { describe, expect, it } from 'vitest';
import { completeCounts, parseVotes, slug, uniqueIds } from './count-checks.ts';
import type { Count } from './model.ts';

const at = { file: 'f.xml', line: 7 };

describe('parseVotes', () => {
  it('reads whole numbers and reports what it cannot keep as a number', () => {
    expect(parseVotes('42', at, 'x')).toEqual({ votes: 42, anomaly: undefined });
    expect(parseVotes(' 12.0 ', at, 'x').votes).toBe(12);
    for (const marker of [undefined, '', '*', '***', '-', 'X', 'N/A', '<10']) {
      expect(parseVotes(marker, at, 'x')).toMatchObject({
        votes: null,
        anomaly: { code: 'SUPPRESSED_COUNT', source: at },
      });
    }
    expect(parseVotes('-3', at, 'x')).toMatchObject({
      votes: -3,
      anomaly: { code: 'NEGATIVE_COUNT' },
    });
    for (const bad of ['1.5', '1e3', 'twelve', '99999999999999999999']) {
      expect(parseVotes(bad, at, 'x')).toMatchObject({
        votes: null,
        anomaly: { code: 'NOT_A_NUMBER' },
      });
    }
  });
});

describe('completeCounts', () => {
  const count = (mode: Count['mode'], votes: number | null, unitId = 'u', line = 1): Count => ({
    contestId: 'c',
    choiceId: 'k',
    unitId,
    mode,
    votes,
    computed: false,
    source: { file: 'f.xml', line },
  });

  it('computes a missing total after the last mode, null when a mode is suppressed', () => {
    const { counts, anomalies } = completeCounts([
      count('early', 2),
      count('mail', 3),
      count('early', null, 'v'),
    ]);
    expect(counts.map((c) => [c.unitId, c.mode, c.votes, c.computed])).toEqual([
      ['u', 'early', 2, false],
      ['u', 'mail', 3, false],
      ['u', 'total', 5, true],
      ['v', 'early', null, false],
      ['v', 'total', null, true],
    ]);
    expect(anomalies).toEqual([]);
  });

  it('reports totals that differ from their modes and duplicates, changing nothing', () => {
    const input = [
      count('total', 9, 'u', 1),
      count('early', 2, 'u', 2),
      count('mail', 3, 'u', 3),
      count('mail', 3, 'u', 4),
    ];
    const { counts, anomalies } = completeCounts(input);
    expect(counts).toEqual(input);
    expect(anomalies.map((a) => [a.code, a.source.line])).toEqual([
      ['DUPLICATE_ROW', 4],
      ['MODES_DO_NOT_ADD_UP', 1],
    ]);
  });
});

describe('ids', () => {
  it('folds names and keeps ids unique', () => {
    expect(slug('U.S. Senate')).toBe('us-senate');
    expect(slug("O'Brien, José")).toBe('obrien-jose');
    expect(slug('***')).toBe('unnamed');
    const next = uniqueIds();
    expect([next('a'), next('a'), next('a')]).toEqual(['a', 'a-2', 'a-3']);
  });
});
