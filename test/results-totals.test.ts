// Totals of every shipped results CSV, checked against sums computed here from the raw rows
// with a few lines of plain CSV splitting (not the module's parser), and against officially
// reported figures where the file is a zip.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contestResults, electionResults, readResultsFile } from '../src/results/index.ts';
import type { ResultsDocumentWithTurnout } from '../src/results/index.ts';

const DATA = resolve(import.meta.dirname, '../../shared/data/results');

/** Splits one CSV line: quoted fields may hold commas and doubled quotes. */
function splitLine(line: string): string[] {
  const out: string[] = [];
  const re = /("(?:[^"]|"")*"|[^,]*)(,|$)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    const raw = m[1] ?? '';
    out.push(raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw);
    if (m[2] === '') break;
  }
  return out;
}

interface RawTotals {
  votes: number;
  /** Suppressed counts in every row. */
  suppressed: number;
  /** Suppressed counts outside the county "TOTALS" rows: the ones the totals are short of. */
  suppressedInUnits: number;
  byOfficeCandidate: Map<string, number>;
}

function rawTotals(file: string, officeColumn = 'office'): RawTotals {
  const lines: string[] = [];
  for (const line of readFileSync(resolve(DATA, file), 'utf8').split(/\r?\n/)) {
    // A quoted field may hold a line break: join lines while a quote is open.
    const last = lines.at(-1);
    if (last !== undefined && (last.match(/"/g)?.length ?? 0) % 2 === 1) {
      lines[lines.length - 1] = `${last}\n${line}`;
    } else if (line !== '') {
      lines.push(line);
    }
  }
  const header = splitLine(lines[0]!);
  const at = (name: string): number => header.indexOf(name);
  const totals: RawTotals = {
    votes: 0,
    suppressed: 0,
    suppressedInUnits: 0,
    byOfficeCandidate: new Map(),
  };
  for (const line of lines.slice(1)) {
    const f = splitLine(line);
    const v = f[at('votes')]!;
    // A precinct file's per-county "TOTALS" rows restate the precincts above them: every
    // suppressed count is reported, but each vote is counted once.
    const precinct = f[at('precinct')] ?? f[at('election_district')] ?? '';
    const countyTotal = /^totals?$/i.test(precinct.trim());
    if (v === '*') {
      totals.suppressed++;
      if (!countyTotal) totals.suppressedInUnits++;
      continue;
    }
    if (countyTotal) continue;
    const n = Number(v);
    totals.votes += n;
    const k = `${f[at(officeColumn)]}|${f[at('candidate')]}`;
    totals.byOfficeCandidate.set(k, (totals.byOfficeCandidate.get(k) ?? 0) + n);
  }
  return totals;
}

/** Every vote of the contests, as the module totals them (choices and non-vote tallies). */
function moduleTotal(
  doc: ResultsDocumentWithTurnout,
  view: 'public' | 'office',
  only?: ReadonlySet<string>,
): number {
  return electionResults(doc, { view })
    .contests.filter((c) => only?.has(c.contestId) ?? true)
    .reduce(
      (s, c) =>
        s +
        c.choices.reduce((t, ch) => t + (ch.votes ?? 0), 0) +
        c.nonVotes.reduce((t, nv) => t + (nv.votes ?? 0), 0),
      0,
    );
}

function choiceVotes(
  doc: ResultsDocumentWithTurnout,
  contestId: string,
  name: string,
): number | null | undefined {
  return contestResults(doc, contestId, { view: 'public' })?.choices.find((c) => c.name === name)
    ?.votes;
}

const FILES = [
  ['openelections-nm/20201103__nm__general__precinct.csv', 'openelections-csv'],
  ['openelections-nm/20161108__nm__general__county.csv', 'openelections-csv'],
  ['openelections-de/20181106__de__general__precinct.csv', 'openelections-csv'],
  ['openelections-de/20201103__de__general__county.csv', 'openelections-csv'],
  ['openelections-wa/20161108__wa__general__county.csv', 'openelections-csv'],
  ['medsl-2024/2024-president-state.csv', 'medsl-csv'],
  ['medsl-2024/2024-senate-state.csv', 'medsl-csv'],
] as const;

describe('totals of the shipped CSV files', () => {
  for (const [file, format] of FILES) {
    it(`${file}: every vote is counted once, in both views, and suppressed counts are reported`, async () => {
      const raw = rawTotals(file);
      const { format: detected, document } = await readResultsFile(resolve(DATA, file));
      expect(detected).toBe(format);
      expect(moduleTotal(document, 'office')).toBe(raw.votes);
      // Combining small units must not change any total; only contests with fewer ballots than
      // the threshold in all are withheld from the public view.
      const publicView = electionResults(document, { view: 'public' });
      const shown = new Set(publicView.contests.filter((c) => !c.withheld).map((c) => c.contestId));
      expect(moduleTotal(document, 'public', shown)).toBe(moduleTotal(document, 'office', shown));
      for (const c of electionResults(document, { view: 'office' }).contests) {
        if (!shown.has(c.contestId)) expect(c.ballots).toBeLessThan(publicView.smallUnitBallots);
      }
      const suppressed = electionResults(document, { view: 'office' }).contests.reduce(
        (s, c) => s + c.choices.reduce((t, ch) => t + ch.suppressedCounts, 0),
        0,
      );
      expect(suppressed).toBe(raw.suppressedInUnits);
      expect(document.anomalies.filter((a) => a.code === 'SUPPRESSED_COUNT')).toHaveLength(
        raw.suppressed,
      );
      // Each public contest's rows add up to its choice totals.
      for (const c of electionResults(document, { view: 'public' }).contests) {
        if (c.withheld) continue;
        c.choices.forEach((ch, k) => {
          const rows = c.rows.reduce((s, r) => s + (r.votes[k] ?? 0), 0);
          expect(rows, `${c.contestId} ${ch.choiceId}`).toBe(ch.votes);
        });
      }
    });
  }

  it('NM 2020 precinct: candidate totals match the raw rows, and 7,709 counts are suppressed', async () => {
    const raw = rawTotals('openelections-nm/20201103__nm__general__precinct.csv');
    expect(raw.suppressed).toBe(7709);
    const { document } = await readResultsFile(
      resolve(DATA, 'openelections-nm/20201103__nm__general__precinct.csv'),
    );
    expect(choiceVotes(document, 'president', 'Joseph R. Biden')).toBe(
      raw.byOfficeCandidate.get('President|Joseph R. Biden'),
    );
    expect(choiceVotes(document, 'president', 'Donald J. Trump')).toBe(
      raw.byOfficeCandidate.get('President|Donald J. Trump'),
    );
    const president = contestResults(document, 'president', { view: 'public' })!;
    // Some precincts are below the threshold, so the public view has combined rows.
    expect(president.rows.some((r) => r.level === 'combined')).toBe(true);
    const office = contestResults(document, 'president', { view: 'office' })!;
    expect(office.rows.some((r) => r.suppression === 'small-unit')).toBe(true);
    expect(office.rows.every((r) => r.level !== 'combined')).toBe(true);
  });

  it('DE 2018 precinct: modes add up to the votes column and are kept per mode', async () => {
    const { document } = await readResultsFile(
      resolve(DATA, 'openelections-de/20181106__de__general__precinct.csv'),
    );
    expect(document.anomalies.filter((a) => a.code === 'MODES_DO_NOT_ADD_UP')).toHaveLength(0);
    expect(document.counts.filter((c) => c.mode === 'absentee')).toHaveLength(4724);
    expect(document.counts.filter((c) => c.mode === 'election-day')).toHaveLength(4724);
    // DEMOCRATIC is published as Democratic by the default mappings; LIBERTARIN is not fixed.
    const senate = contestResults(document, 'u-s-senate', { view: 'office' })!;
    expect(senate.choices.map((c) => c.party)).toContain('Democratic');
    expect(senate.choices.map((c) => c.party)).toContain('LIBERTARIN');
  });

  it('WA 2016 county: measures with Yes/No choices are ballot measures', async () => {
    const raw = rawTotals('openelections-wa/20161108__wa__general__county.csv');
    const { document } = await readResultsFile(
      resolve(DATA, 'openelections-wa/20161108__wa__general__county.csv'),
    );
    const office = 'State Measures Initiative Measure No. 1433 concerns labor standards.';
    const contest = document.contests.find((c) => c.name === office)!;
    expect(contest.kind).toBe('ballot-measure');
    expect(choiceVotes(document, contest.id, 'Yes')).toBe(
      raw.byOfficeCandidate.get(`${office}|Yes`),
    );
  });

  it('MEDSL president: write-ins, undervotes and overvotes are kept apart from the votes', async () => {
    const { document } = await readResultsFile(
      resolve(DATA, 'medsl-2024/2024-president-state.csv'),
    );
    const president = contestResults(document, 'president', { view: 'public' })!;
    expect(president.unitsExpected).toBe(51);
    expect(new Set(president.nonVotes.map((n) => n.kind))).toEqual(
      new Set(['overvotes', 'undervotes', 'void']),
    );
    const raw = rawTotals('medsl-2024/2024-president-state.csv');
    const under = raw.byOfficeCandidate.get('US PRESIDENT|UNDERVOTES');
    expect(
      president.nonVotes.filter((n) => n.kind === 'undervotes').reduce((s, n) => s + n.votes!, 0),
    ).toBe(under);
    expect(president.choices.some((c) => c.writeIn)).toBe(true);
    // totalvotes becomes the states' ballots (for turnout): New Hampshire's is 831,033.
    expect(document.turnout?.find((t) => t.unitId === 'state:nh')?.ballotsCast).toBe(831033);
  });

  it('MEDSL Wyoming precinct zip: totals match the official canvass', async () => {
    const { format, document } = await readResultsFile(resolve(DATA, 'medsl-2024/wy24.zip'));
    expect(format).toBe('medsl-csv');
    expect(document.election).toMatchObject({ state: 'WY', date: '2024-11-05' });
    expect(document.counts[0]?.source.file).toBe('wy24.zip/wy24_cleaned.csv');
    // Wyoming Secretary of State, 2024 general, statewide canvass.
    expect(choiceVotes(document, 'president', 'DONALD J TRUMP')).toBe(192633);
    expect(choiceVotes(document, 'president', 'KAMALA D HARRIS')).toBe(69527);
    const retention = document.contests.filter((c) => c.kind === 'retention');
    expect(retention.length).toBeGreaterThan(0);
    expect(document.contests.some((c) => c.kind === 'ballot-measure')).toBe(true);
    expect(document.units.find((u) => u.id === 'county:albany')?.fips).toBe('56001');
  });
});
