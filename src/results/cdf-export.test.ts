import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { toNistCdfJson, toNistCdfXml } from './cdf-export.ts';
import { readClarityXml } from './clarity.ts';
import type {
  ChoiceWithTally,
  Election,
  ResultsDocument,
  ResultsDocumentWithTurnout,
} from './model.ts';
import { readNistCdfJson, readNistCdfXml } from './nist-cdf.ts';

// The real files, read where the project's shared data sits beside the repository
// (see its results/SOURCES.md); nothing of them is copied into the project.
const FIXTURES = new URL('../../../shared/data/results/', import.meta.url);
const fixture = (name: string): string => fileURLToPath(new URL(name, FIXTURES));
const XSD = fixture('nist-err/NIST_V2_election_results_reporting.xsd');
const GENERATED = new Date('2024-11-06T03:04:05.678Z');

const ELECTION: Election = {
  id: 'test',
  name: '2014 General Election',
  date: '2014-11-04',
  state: null,
};

const dir = mkdtempSync(join(tmpdir(), 'cdf-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** NIST's JSON schema (draft-04) compiled by an Ajv of our own, with the standard formats. */
const validateJson = (() => {
  const ajv = new AjvModule.default({ allErrors: true, strict: false });
  addFormatsModule.default(ajv);
  return ajv.compile(
    JSON.parse(
      readFileSync(fixture('nist-err/NIST_V2_election_results_reporting.json'), 'utf8'),
    ) as object,
  );
})();

function expectJsonValid(report: object): void {
  const valid = validateJson(report);
  expect(validateJson.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
}

/** Validates with libxml2 against NIST's XSD (xmllint exits non-zero on any error). */
function expectXsdValid(file: string): void {
  const out = execFileSync('xmllint', ['--noout', '--schema', XSD, file], {
    encoding: 'utf8',
    stdio: 'pipe',
  });
  expect(out).toBe('');
}

/** Counts as `contest|choice|unit|mode` → votes, the computed flag dropped. */
function countMap(doc: ResultsDocument): Map<string, number | null> {
  return new Map(
    doc.counts.map((c) => [`${c.contestId}|${c.choiceId}|${c.unitId}|${c.mode}`, c.votes]),
  );
}

function shape(doc: ResultsDocument): unknown {
  return {
    units: doc.units,
    contests: doc.contests.map((c) => ({
      ...c,
      choices: [...c.choices].sort((a, b) => a.id.localeCompare(b.id)),
    })),
  };
}

async function roundTrip(doc: ResultsDocument, name: string): Promise<void> {
  const jsonFile = join(dir, `${basename(name)}.json`);
  const xmlFile = join(dir, `${basename(name)}.xml`);
  const report = toNistCdfJson(doc, { generatedDate: GENERATED });
  expectJsonValid(report);
  writeFileSync(jsonFile, JSON.stringify(report, null, 2));
  writeFileSync(xmlFile, toNistCdfXml(doc, { generatedDate: GENERATED }));
  expectXsdValid(xmlFile);
  for (const back of [
    await readNistCdfJson(jsonFile, { election: doc.election }),
    await readNistCdfXml(xmlFile, { election: doc.election }),
  ]) {
    expect(countMap(back)).toEqual(countMap(doc));
    expect(shape(back)).toEqual(shape(doc));
    expect(back.turnout?.map((t) => [t.unitId, t.registered, t.ballotsCast])).toEqual(
      ((doc as ResultsDocumentWithTurnout).turnout ?? []).map((t) => [
        t.unitId,
        t.registered,
        t.ballotsCast,
      ]),
    );
  }
}

describe('toNistCdfJson and toNistCdfXml', () => {
  it.each(['clarity-enr/county.xml', 'clarity-enr/precinct.xml'])(
    'export %s as valid CDF that reads back with the same totals',
    async (name) => {
      const doc = await readClarityXml(fixture(name), { election: ELECTION });
      await roundTrip(doc, name);
    },
  );

  it.each([
    'google-civics-cdf/post_election_sample_feed_summary.xml',
    'google-civics-cdf/post_election_sample_feed_precincts.xml',
    'google-civics-cdf/ballot_measure_contest_sample_feed_with_results.xml',
  ])('export %s (Google profile) as valid CDF v2 that reads back the same', async (name) => {
    const doc = await readNistCdfXml(fixture(name), { election: ELECTION });
    await roundTrip(doc, name);
  });

  it('exports every kind of contest, suppressed counts, districts and several top units', async () => {
    const source = { file: 'synthetic.csv', line: 2 };
    // Tallies read back as `overvotes`/`undervotes` (OtherCounts carry no id of their own).
    const tally: ChoiceWithTally = {
      id: 'overvotes',
      name: 'Overvotes',
      party: null,
      writeIn: false,
      nonVote: 'overvotes',
    };
    const doc: ResultsDocumentWithTurnout = {
      election: {
        id: 'synthetic',
        name: 'Special <Runoff> & more',
        date: '2024-11-05',
        state: 'NM',
      },
      format: 'openelections-csv',
      units: [
        { id: 'county:a', name: 'County A', level: 'county', parentId: null, fips: '35001' },
        { id: 'county:b', name: 'County "B"', level: 'county', parentId: null, fips: null },
        { id: 'precinct:a/1', name: 'Pct 1', level: 'precinct', parentId: 'county:a', fips: null },
        { id: 'district:x', name: 'District X', level: 'district', parentId: null, fips: null },
      ],
      contests: [
        {
          id: 'us-house/1',
          name: 'U.S. House',
          kind: 'candidate',
          district: '1',
          voteFor: 1,
          choices: [
            { id: 'a-b', name: 'Ann \u0001Bee', party: 'Democratic', writeIn: false },
            { id: 'write-ins', name: 'Write-ins', party: null, writeIn: true },
            tally,
          ],
        },
        {
          id: 'measure-1',
          name: 'Measure 1',
          kind: 'ballot-measure',
          district: null,
          voteFor: 1,
          choices: [
            { id: 'yes', name: 'Yes', party: null, writeIn: false },
            { id: 'no', name: 'No', party: null, writeIn: false },
          ],
        },
        {
          id: 'retain-judge',
          name: 'Retain Judge C',
          kind: 'retention',
          district: null,
          voteFor: 1,
          choices: [{ id: 'yes', name: 'Yes', party: null, writeIn: false }],
        },
      ],
      counts: [
        {
          contestId: 'us-house/1',
          choiceId: 'a-b',
          unitId: 'precinct:a/1',
          mode: 'mail',
          votes: 3,
          computed: false,
          source,
        },
        {
          contestId: 'us-house/1',
          choiceId: 'a-b',
          unitId: 'precinct:a/1',
          mode: 'election-day',
          votes: null,
          computed: false,
          source,
        },
        {
          contestId: 'us-house/1',
          choiceId: 'a-b',
          unitId: 'precinct:a/1',
          mode: 'total',
          votes: null,
          computed: true,
          source,
        },
        {
          contestId: 'us-house/1',
          choiceId: 'write-ins',
          unitId: 'county:a',
          mode: 'total',
          votes: 2,
          computed: false,
          source,
        },
        {
          contestId: 'us-house/1',
          choiceId: 'overvotes',
          unitId: 'county:a',
          mode: 'total',
          votes: 1,
          computed: false,
          source,
        },
        {
          contestId: 'measure-1',
          choiceId: 'yes',
          unitId: 'county:b',
          mode: 'total',
          votes: 10,
          computed: false,
          source,
        },
        {
          contestId: 'measure-1',
          choiceId: 'no',
          unitId: 'county:b',
          mode: 'total',
          votes: 0,
          computed: false,
          source,
        },
        {
          contestId: 'retain-judge',
          choiceId: 'yes',
          unitId: 'district:x',
          mode: 'other',
          votes: 4,
          computed: false,
          source,
        },
        {
          contestId: 'retain-judge',
          choiceId: 'yes',
          unitId: 'district:x',
          mode: 'total',
          votes: 4,
          computed: true,
          source,
        },
      ],
      anomalies: [],
      turnout: [{ unitId: 'county:a', registered: 100, ballotsCast: 50, source }],
    };
    const report = toNistCdfJson(doc, { generatedDate: GENERATED, status: 'certified' });
    expect(report).toMatchObject({
      GeneratedDate: '2024-11-06T03:04:05Z',
      Status: 'certified',
      IssuerAbbreviation: 'NM',
    });
    const xml = toNistCdfXml(doc, { generatedDate: GENERATED });
    expect(xml).toContain('Special &lt;Runoff&gt; &amp; more');
    expect(xml).toContain('Ann \uFFFDBee');
    expect(xml).toContain('<IsSuppressedForPrivacy>true</IsSuppressedForPrivacy>');
    // The control character is replaced in XML only; JSON carries it escaped. Compare without it.
    const clean: ResultsDocumentWithTurnout = {
      ...doc,
      contests: doc.contests.map((c) => ({
        ...c,
        choices: c.choices.map((ch) => ({ ...ch, name: ch.name.replace('\u0001', '') })),
      })),
    };
    await roundTrip(clean, 'synthetic');
    const back = await readNistCdfJson(join(dir, 'synthetic.json'), {
      election: { ...doc.election, state: null },
    });
    expect(back.election.state).toBe('NM');
  });
});
