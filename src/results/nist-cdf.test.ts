import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ResultsError } from './errors.ts';
import type { Election } from './model.ts';
import { cdfUnitLevel, cdfVoteMode, readNistCdfJson, readNistCdfXml } from './nist-cdf.ts';

// The real files, read where the project's shared data sits beside the repository
// (see its results/SOURCES.md); nothing of them is copied into the project.
const FIXTURES = new URL('../../../shared/data/results/', import.meta.url);
const fixture = (name: string): string => fileURLToPath(new URL(name, FIXTURES));
const GOOGLE = [
  'google-civics-cdf/post_election_sample_feed_summary.xml',
  'google-civics-cdf/post_election_sample_feed_precincts.xml',
  'google-civics-cdf/ballot_measure_contest_sample_feed_with_results.xml',
];

const ELECTION: Election = {
  id: 'test',
  name: 'General election',
  date: '2018-11-06',
  state: null,
};

const dir = mkdtempSync(join(tmpdir(), 'nist-cdf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeTemp(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/**
 * Per selection object id, the sum of its `total` VoteCounts and the number of VoteCounts, by
 * regular expressions over the raw text (independent of the reader).
 */
function rawSelectionTotals(text: string): Map<string, { total: number; entries: number }> {
  const out = new Map<string, { total: number; entries: number }>();
  for (const m of text.matchAll(
    /<BallotSelection objectId="([^"]+)"[\s\S]*?<\/BallotSelection>/g,
  )) {
    let total = 0;
    for (const t of m[0].matchAll(/<Type>total<\/Type>\s*<Count>(\d+)<\/Count>/g))
      total += Number(t[1]);
    out.set(m[1]!, { total, entries: [...m[0].matchAll(/<VoteCounts>/g)].length });
  }
  return out;
}

describe('readNistCdfXml on the shipped files', () => {
  it.each(GOOGLE)('reads %s with totals equal to the raw file', async (name) => {
    const file = fixture(name);
    const doc = await readNistCdfXml(file, { election: ELECTION });
    expect(doc.format).toBe('nist-cdf-xml');
    const raw = rawSelectionTotals(readFileSync(file, 'utf8'));
    expect(raw.size).toBeGreaterThan(0);
    for (const [selection, sums] of raw) {
      const counts = doc.counts.filter((c) => c.choiceId === selection);
      expect(counts.filter((c) => !c.computed)).toHaveLength(sums.entries);
      const total = counts
        .filter((c) => c.mode === 'total')
        .reduce((s, c) => s + (c.votes ?? 0), 0);
      expect(total).toBe(sums.total);
    }
    // Every count is placed in a defined unit and the modes add up in these samples.
    const unitIds = new Set(doc.units.map((u) => u.id));
    expect(doc.counts.every((c) => unitIds.has(c.unitId))).toBe(true);
    expect(doc.anomalies).toEqual([]);
  });

  it('maps Google profile units: levels, parents, county FIPS and the state', async () => {
    const doc = await readNistCdfXml(fixture(GOOGLE[1]!), { election: ELECTION });
    expect(doc.election.state).toBe('VA');
    expect(doc.units.find((u) => u.id === 'ru0001')).toEqual({
      id: 'ru0001',
      name: 'Albemarle County',
      level: 'county',
      parentId: 'ru0002',
      fips: '51003',
    });
    expect(doc.units.find((u) => u.id === 'ru0002')).toMatchObject({ level: 'state', fips: null });
    const precincts = doc.units.filter((u) => u.level === 'precinct');
    expect(precincts.length).toBeGreaterThan(20);
    // Precincts lie in districts, which lie in the county: the county is an ancestor of each.
    const byId = new Map(doc.units.map((u) => [u.id, u]));
    for (const precinct of precincts) {
      const ancestors: string[] = [];
      for (let at = precinct.parentId; at !== null; at = byId.get(at)!.parentId) ancestors.push(at);
      expect(ancestors).toContain('ru0001');
    }
    const president = doc.contests.find((c) => c.id === 'cc20002_a')!;
    expect(president).toMatchObject({ name: 'President', kind: 'candidate', voteFor: 1 });
    expect(president.choices[0]).toEqual({
      id: 'cs10861',
      name: 'Barack H. Obama',
      party: 'Democratic',
      writeIn: false,
    });
    const count = doc.counts.find(
      (c) => c.choiceId === 'cs10861' && c.unitId === 'ru_pre90111' && c.mode === 'absentee',
    );
    expect(count).toMatchObject({ votes: 7257, computed: false, source: { line: 360 } });
  });

  it('reads a ballot measure with its answers', async () => {
    const doc = await readNistCdfXml(fixture(GOOGLE[2]!), { election: ELECTION });
    expect(doc.election.state).toBe('CA');
    expect(doc.contests[0]).toMatchObject({ kind: 'ballot-measure' });
    expect(doc.contests[0]!.choices.map((c) => c.name)).toEqual(['Yes', 'No']);
  });

  it('reads the NIST pre-election example leniently (plain-text names, no counts)', async () => {
    const doc = await readNistCdfXml(fixture('nist-err-examples/validation_target.xml'), {
      election: { ...ELECTION, state: 'WI' },
    });
    expect(doc.election.state).toBe('WI');
    expect(doc.units).toHaveLength(550);
    expect(doc.units.find((u) => u.name === 'City of ALGOMA')).toMatchObject({
      level: 'other',
      fips: null,
    });
    expect(doc.contests).toHaveLength(1);
    expect(doc.contests[0]).toMatchObject({ name: 'STATE SENATOR DISTRICT 1', kind: 'candidate' });
    expect(doc.contests[0]!.choices.map((c) => c.name)).toEqual([
      'André M. Jacque',
      'Caleb Frostman',
    ]);
    expect(doc.counts).toEqual([]);
  });
});

describe('CDF counts and anomalies', () => {
  const report = (counts: string): string => `<?xml version="1.0"?>
<ElectionReport xmlns="http://itl.nist.gov/ns/voting/1500-100/v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Election>
    <Contest ObjectId="c1" xsi:type="CandidateContest">
      <ContestSelection ObjectId="s1" xsi:type="CandidateSelection">
${counts}
      </ContestSelection>
      <ElectionDistrictId>u1</ElectionDistrictId>
      <Name>Mayor</Name>
      <VotesAllowed>1</VotesAllowed>
    </Contest>
    <ElectionScopeId>u1</ElectionScopeId>
  </Election>
  <GpUnit ObjectId="u1" xsi:type="ReportingUnit"><Name><Text Language="en">Town</Text></Name><Type>town</Type></GpUnit>
</ElectionReport>
`;
  const vc = (type: string, count: string, extra = ''): string =>
    `<VoteCounts><GpUnitId>u1</GpUnitId>${extra}<Type>${type}</Type><Count>${count}</Count></VoteCounts>`;

  it('reports suppressed counts, modes that do not add up and unknown units', async () => {
    const file = writeTemp(
      'anomalies.xml',
      report(
        [
          vc('election-day', '5'),
          vc('absentee-mail', '0', '<IsSuppressedForPrivacy>true</IsSuppressedForPrivacy>'),
          vc('early', '7'),
          vc('total', '11'),
          '<VoteCounts><GpUnitId>nowhere</GpUnitId><Type>total</Type><Count>3</Count></VoteCounts>',
        ].join('\n'),
      ),
    );
    const doc = await readNistCdfXml(file, { election: ELECTION });
    expect(doc.counts.map((c) => [c.mode, c.votes])).toEqual([
      ['election-day', 5],
      ['mail', null],
      ['early', 7],
      ['total', 11],
    ]);
    expect(doc.anomalies.map((a) => [a.code, a.source.line])).toEqual([
      ['SUPPRESSED_COUNT', 7],
      ['ROW_UNPLACED', 10],
    ]);

    const file2 = writeTemp(
      'modes.xml',
      report([vc('election-day', '5'), vc('early', '7'), vc('total', '11')].join('\n')),
    );
    const doc2 = await readNistCdfXml(file2, { election: ELECTION });
    expect(doc2.anomalies).toEqual([
      expect.objectContaining({
        code: 'MODES_DO_NOT_ADD_UP',
        source: { file: 'modes.xml', line: 8 },
      }),
    ]);
  });

  it('refuses malformed XML and JSON naming the file and position', async () => {
    const xml = writeTemp(
      'bad.xml',
      '<ElectionReport>\n  <Election>\n  </Elect>\n</ElectionReport>',
    );
    await expect(readNistCdfXml(xml, { election: ELECTION })).rejects.toMatchObject({
      code: 'FILE_MALFORMED',
      file: 'bad.xml',
      line: 3,
    });
    const json = writeTemp(
      'bad.json',
      '{\n  "@type": "ElectionResults.ElectionReport",\n  "Election": [,]\n}',
    );
    const error = await readNistCdfJson(json, { election: ELECTION }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResultsError);
    expect(error).toMatchObject({ code: 'FILE_MALFORMED', file: 'bad.json', line: 3 });
    expect((error as ResultsError).message).toMatch(
      /^Cannot read "bad\.json" as JSON at line 3, column \d+/,
    );
  });

  it('refuses a billion-laughs payload without expanding it', async () => {
    const lol = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE lolz [',
      ' <!ENTITY lol "lol">',
      ...Array.from(
        { length: 9 },
        (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
      ),
      ']>',
      '<ElectionReport>&lol9;</ElectionReport>',
    ].join('\n');
    const file = writeTemp('lol.xml', lol);
    const started = performance.now();
    const error = await readNistCdfXml(file, { election: ELECTION }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ code: 'FILE_MALFORMED', file: 'lol.xml', line: 2 });
    expect((error as Error).message).toContain('document type declaration is not accepted');
  });

  it('refuses external entities, oversized and too deeply nested files', async () => {
    const xxe = writeTemp(
      'xxe.xml',
      '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>\n<ElectionReport>&x;</ElectionReport>',
    );
    await expect(readNistCdfXml(xxe, { election: ELECTION })).rejects.toMatchObject({
      code: 'FILE_MALFORMED',
    });
    await expect(
      readNistCdfXml(fixture(GOOGLE[0]!), { election: ELECTION, maxBytes: 1000 }),
    ).rejects.toMatchObject({ code: 'FILE_UNREADABLE', file: basename(GOOGLE[0]!) });
    const deepXml = writeTemp('deep.xml', `${'<a>'.repeat(500)}${'</a>'.repeat(500)}`);
    await expect(readNistCdfXml(deepXml, { election: ELECTION })).rejects.toMatchObject({
      code: 'FILE_MALFORMED',
    });
    const deepJson = writeTemp('deep.json', `${'['.repeat(500)}${']'.repeat(500)}`);
    await expect(readNistCdfJson(deepJson, { election: ELECTION })).rejects.toMatchObject({
      code: 'FILE_MALFORMED',
    });
    const binary = join(dir, 'latin1.xml');
    writeFileSync(binary, Buffer.from([0x3c, 0x61, 0x3e, 0xe9, 0x3c, 0x2f, 0x61, 0x3e]));
    await expect(readNistCdfXml(binary, { election: ELECTION })).rejects.toMatchObject({
      code: 'FILE_MALFORMED',
    });
  });

  it('refuses JSON that is not an ElectionReport (a VotingWorks election definition)', async () => {
    await expect(
      readNistCdfJson(fixture('votingworks/err-election.json'), { election: ELECTION }),
    ).rejects.toMatchObject({ code: 'FORMAT_UNKNOWN', file: 'err-election.json' });
  });

  it('decodes predefined entities and character references once', async () => {
    const file = writeTemp(
      'entities.xml',
      report(vc('total', '1')).replace(
        '<Name>Mayor</Name>',
        '<Name>AT&amp;T &#233;&#x41; &amp;#233;</Name>',
      ),
    );
    const doc = await readNistCdfXml(file, { election: ELECTION });
    expect(doc.contests[0]!.name).toBe('AT&T éA &#233;');
  });

  it('maps unit types and count types', () => {
    expect(
      ['state', 'county', 'split-precinct', 'congressional', 'town'].map((t) => cdfUnitLevel(t)),
    ).toEqual(['state', 'county', 'precinct', 'district', 'other']);
    expect(cdfUnitLevel('other', 'district')).toBe('district');
    expect(['total', 'absentee-mail', 'uocava', 'write-in', 'seats'].map(cdfVoteMode)).toEqual([
      'total',
      'mail',
      'absentee',
      'other',
      undefined,
    ]);
  });
});
