import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { clarityVoteMode, readClarityXml } from './clarity.ts';
import { ResultsError } from './errors.ts';
import type { Count, Election, ResultsDocument } from './model.ts';

// The real files, read where the project's shared data sits beside the repository
// (see its results/SOURCES.md); nothing of them is copied into the project.
const FIXTURES = new URL('../../../shared/data/results/', import.meta.url);
const fixture = (name: string): string => fileURLToPath(new URL(name, FIXTURES));
const COUNTY = fixture('clarity-enr/county.xml');
const PRECINCT = fixture('clarity-enr/precinct.xml');

const ELECTION: Election = {
  id: 'test-2014',
  name: '2014 election',
  date: '2014-11-04',
  state: null,
};

const dir = mkdtempSync(join(tmpdir(), 'clarity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeTemp(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/**
 * Per choice name, the sum of every `<County|Precinct votes>` inside its `<Choice>` and its
 * stated `totalVotes`, by regular expressions over the raw text (independent of the reader).
 */
function rawChoiceSums(text: string): Map<string, { units: number; stated: number }> {
  const sums = new Map<string, { units: number; stated: number }>();
  for (const m of text.matchAll(
    /<Choice [^>]*text="([^"]*)"[^>]*totalVotes="(\d+)"[^>]*>([\s\S]*?)<\/Choice>/g,
  )) {
    let units = 0;
    for (const v of m[3]!.matchAll(/<(?:County|Precinct) name="[^"]*" votes="(\d+)"/g))
      units += Number(v[1]);
    sums.set(m[1]!, { units, stated: Number(m[2]) });
  }
  return sums;
}

function choiceName(doc: ResultsDocument, choiceId: string): string {
  for (const contest of doc.contests) {
    const choice = contest.choices.find((c) => c.id === choiceId);
    if (choice) return choice.name;
  }
  throw new Error(`no choice ${choiceId}`);
}

function totalsBy(doc: ResultsDocument, filter: (c: Count) => boolean): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of doc.counts.filter(filter)) {
    const name = choiceName(doc, c.choiceId);
    out.set(name, (out.get(name) ?? 0) + (c.votes ?? 0));
  }
  return out;
}

describe('readClarityXml on the shipped files', () => {
  it('reads the state-level Arkansas file with county units and checks the stated totals', async () => {
    const doc = await readClarityXml(COUNTY, { election: ELECTION });
    expect(doc.format).toBe('clarity-xml');
    expect(doc.election).toEqual({ ...ELECTION, state: 'AR' });
    const counties = doc.units.filter((u) => u.level === 'county');
    expect(counties).toHaveLength(75);
    expect(counties.every((u) => u.parentId === 'state:ar')).toBe(true);
    expect(doc.units[0]).toMatchObject({ id: 'state:ar', level: 'state', parentId: null });
    expect(doc.contests).toEqual([
      expect.objectContaining({
        id: 'us-senate',
        name: 'U.S. Senate',
        kind: 'candidate',
        voteFor: 1,
      }),
    ]);
    expect(doc.contests[0]!.choices).toEqual([
      { id: 'tom-cotton', name: 'Tom Cotton', party: 'Republican', writeIn: false },
    ]);

    const raw = rawChoiceSums(readFileSync(COUNTY, 'utf8'));
    const subUnits = new Set(counties.map((u) => u.id));
    const perCounty = totalsBy(doc, (c) => subUnits.has(c.unitId) && c.mode === 'total');
    const stated = totalsBy(doc, (c) => c.unitId === 'state:ar' && c.mode === 'total');
    expect(perCounty.get('Tom Cotton')).toBe(raw.get('Tom Cotton')!.units);
    expect(stated.get('Tom Cotton')).toBe(raw.get('Tom Cotton')!.stated);
    // The file's four vote types add up to less than its stated total: reported, not fixed.
    expect(raw.get('Tom Cotton')!.units).toBe(462123);
    expect(doc.anomalies).toEqual([
      {
        code: 'MODES_DO_NOT_ADD_UP',
        source: { file: 'county.xml', line: 166 },
        detail: expect.stringContaining('modes add up to 462123, the total is 477734'),
      },
    ]);
    const modes = new Set(doc.counts.map((c) => c.mode));
    expect([...modes].sort()).toEqual([
      'absentee',
      'early',
      'election-day',
      'provisional',
      'total',
    ]);
    const benton = doc.counts.filter((c) => c.unitId === 'county:benton' && c.mode === 'total');
    expect(benton).toHaveLength(1);
    expect(benton[0]!.computed).toBe(true);
    expect(doc.turnout?.find((t) => t.unitId === 'county:benton')).toMatchObject({
      registered: 129175,
      ballotsCast: 63266,
    });
  });

  it('reads the county-level Greenup file with precinct units, over- and undervotes', async () => {
    const doc = await readClarityXml(PRECINCT, { election: ELECTION });
    expect(doc.election.state).toBeNull();
    expect(doc.units[0]).toMatchObject({ id: 'county:greenup', level: 'county' });
    const precincts = doc.units.filter((u) => u.level === 'precinct');
    expect(precincts).toHaveLength(33);
    expect(precincts[0]).toEqual({
      id: 'precinct:greenup/ab',
      name: 'AB',
      level: 'precinct',
      parentId: 'county:greenup',
      fips: null,
    });
    const contest = doc.contests[0]!;
    expect(contest.choices.map((c) => c.id)).toEqual([
      'undervotes',
      'overvotes',
      'matt-bevin',
      'brad-copas',
      'mitch-mcconnell',
      'chris-payne',
      'shawna-sterling',
    ]);
    expect(contest.choices[0]).toMatchObject({ nonVote: 'undervotes' });

    const raw = rawChoiceSums(readFileSync(PRECINCT, 'utf8'));
    expect(raw.size).toBe(5);
    const subUnits = new Set(precincts.map((u) => u.id));
    const perPrecinct = totalsBy(doc, (c) => subUnits.has(c.unitId) && c.mode === 'total');
    const stated = totalsBy(doc, (c) => c.unitId === 'county:greenup' && c.mode === 'total');
    for (const [name, sums] of raw) {
      expect(perPrecinct.get(name)).toBe(sums.units);
      expect(stated.get(name)).toBe(sums.stated);
    }
    expect(doc.anomalies).toEqual([]);
    // Each count remembers its element's line.
    const bevinAb = doc.counts.find(
      (c) =>
        c.choiceId === 'matt-bevin' &&
        c.unitId === 'precinct:greenup/ab' &&
        c.mode === 'election-day',
    );
    expect(bevinAb).toMatchObject({
      votes: 29,
      source: { file: 'precinct.xml', line: 119 },
    });
  });
});

describe('readClarityXml anomalies and errors', () => {
  const xml = (body: string): string =>
    `<?xml version="1.0"?>\n<ElectionResult>\n<Region>Test</Region>\n${body}\n</ElectionResult>\n`;

  it('keeps suppressed and missing counts as null and reports modes that do not add up', async () => {
    const file = writeTemp(
      'suppressed.xml',
      xml(`<Contest key="1" text="Question &amp; Answer" voteFor="1" isQuestion="true">
<Choice key="1" text="Yes" totalVotes="10">
<VoteType name="Election Day" votes="4"><Precinct name="P1" votes="*" /><Precinct name="P2" votes="4" /></VoteType>
<VoteType name="Absentee by Mail" votes="5"><Precinct name="P1" /><Precinct name="P2" votes="5" /></VoteType>
</Choice>
</Contest>`),
    );
    const doc = await readClarityXml(file, { election: ELECTION, sourceName: 'upload.xml' });
    expect(doc.contests[0]).toMatchObject({
      id: 'question-answer',
      name: 'Question & Answer',
      kind: 'ballot-measure',
    });
    const p1 = doc.counts.filter((c) => c.unitId === 'precinct:test/p1');
    expect(p1.map((c) => [c.mode, c.votes, c.computed])).toEqual([
      ['election-day', null, false],
      ['absentee', null, false],
      ['total', null, true],
    ]);
    expect(doc.anomalies.map((a) => [a.code, a.source.line])).toEqual([
      ['SUPPRESSED_COUNT', 6],
      ['SUPPRESSED_COUNT', 7],
      ['MODES_DO_NOT_ADD_UP', 5],
    ]);
    expect(doc.anomalies[0]!.source.file).toBe('upload.xml');
  });

  it('refuses malformed XML with the file, line and column', async () => {
    const file = writeTemp('broken.xml', xml('<Contest key="1">\n<Choice text="A">\n</Contest>'));
    const error = await readClarityXml(file, { election: ELECTION }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResultsError);
    expect(error).toMatchObject({ code: 'FILE_MALFORMED', file: 'broken.xml', line: 6 });
    expect((error as ResultsError).message).toMatch(
      /^Cannot read "broken\.xml" as XML at line 6, column \d+/,
    );
  });

  it('refuses a file whose root is not ElectionResult', async () => {
    await expect(
      readClarityXml(fixture('google-civics-cdf/post_election_sample_feed_summary.xml'), {
        election: ELECTION,
      }),
    ).rejects.toMatchObject({ code: 'FORMAT_UNKNOWN', line: 2 });
  });

  it('maps the vote type names counties use', () => {
    expect(
      [
        'Election Day',
        'Election',
        'Early Vote',
        'Advance in Person',
        'Absentee by Mail',
        'Mail-In',
        'Provisional',
        'Total',
        'Federal Write-in',
      ].map(clarityVoteMode),
    ).toEqual([
      'election-day',
      'election-day',
      'early',
      'early',
      'absentee',
      'mail',
      'provisional',
      'total',
      'other',
    ]);
  });
});
