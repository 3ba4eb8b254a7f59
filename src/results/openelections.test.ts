import { describe, expect, it } from 'vitest';
import { ResultsError } from './errors.ts';
import { parseMedslCsv } from './medsl.ts';
import { parseOpenElectionsCsv } from './openelections.ts';
import { parseNameMappings } from './mappings.ts';

const FILE = '20201103__nm__general__precinct.csv';

function codesAt(doc: ReturnType<typeof parseOpenElectionsCsv>): string[] {
  return doc.anomalies.map((a) => `${a.source.line} ${a.code}`);
}

describe('parseOpenElectionsCsv', () => {
  it('reports every kind of odd row with its line, and keeps the values as given', () => {
    const text = [
      'county,precinct,office,district,party,candidate,election_day,absentee,votes',
      'Alpha,P1,Governor,,DEM,Ann Smith,10,5,16', // modes 15, total 16
      'Alpha,P1,Governor,,DEM,Ann Smith,10,5,15', // duplicate
      'Alpha,P2,Governor,,REP,Bob Jones,,,-2', // negative
      'Alpha,P2,Governor,,DEM,Ann Smith,1,1,1.5', // not a number
      'Alpha,P3,Governor,,DEM,Ann Smith,,,*', // suppressed
      ',,Governor,,DEM,Ann Smith,1,1,2', // no unit
      'Alpha,P3,,,DEM,Ann Smith,1,1,2', // no office
      'Alpha,P3,Governor,DEM', // short row
    ].join('\n');
    const doc = parseOpenElectionsCsv(text, FILE);
    expect(codesAt(doc)).toEqual([
      '2 MODES_DO_NOT_ADD_UP',
      '3 DUPLICATE_ROW',
      '4 NEGATIVE_COUNT',
      '5 NOT_A_NUMBER',
      '6 SUPPRESSED_COUNT',
      '7 ROW_UNPLACED',
      '8 ROW_UNPLACED',
      '9 ROW_UNPLACED',
    ]);
    expect(doc.anomalies.every((a) => a.source.file === FILE)).toBe(true);
    const total = (line: number) =>
      doc.counts.find((c) => c.source.line === line && c.mode === 'total')?.votes;
    expect(total(2)).toBe(16);
    expect(total(3)).toBe(15);
    expect(total(4)).toBe(-2);
    expect(total(5)).toBeNull();
    expect(total(6)).toBeNull();
    expect(doc.election).toEqual({
      id: 'nm-2020-11-03-general',
      name: 'NM general election 2020-11-03',
      date: '2020-11-03',
      state: 'NM',
    });
    expect(doc.units.find((u) => u.id === 'precinct:alpha/p1')).toMatchObject({
      level: 'precinct',
      parentId: 'county:alpha',
    });
  });

  it('reads columns in any order, computes totals from modes when there is no votes column', () => {
    const doc = parseOpenElectionsCsv(
      'candidate,party,early_voting,county,office,mail,district\n"Doe, Jane",Democrat,3,Beta,U.S. House,4,02\n',
      '20181106__xx__general__county.csv',
    );
    const total = doc.counts.find((c) => c.mode === 'total');
    expect(total).toMatchObject({ votes: 7, computed: true, contestId: 'u-s-house/2' });
    expect(doc.contests[0]?.choices[0]).toMatchObject({ name: 'Doe, Jane', party: 'Democratic' });
  });

  it('reads Yes/No contests as ballot measures and keeps quotes inside names', () => {
    const doc = parseOpenElectionsCsv(
      'county,office,district,party,candidate,votes\nA,"Measure 1, taxes",,,Yes,5\nA,"Measure 1, taxes",,,No,6\nA,Senate,,GRE,"Sheila ""Samm"" Tittle",3\n',
      FILE,
    );
    expect(doc.contests.map((c) => c.kind)).toEqual(['ballot-measure', 'candidate']);
    expect(doc.contests[1]?.choices[0]?.name).toBe('Sheila "Samm" Tittle');
  });

  it('applies the office mapping table over the defaults', () => {
    const mappings = parseNameMappings(
      JSON.stringify({
        parties: { LIBERTARIN: 'Libertarian' },
        candidates: { 'Carper T': 'Thomas R. Carper' },
      }),
      'results-mappings.json',
    );
    const doc = parseOpenElectionsCsv(
      'county,office,district,party,candidate,votes\nKent,US SENATE,,LIBERTARIN,Carper T,5\n',
      FILE,
      { mappings },
    );
    expect(doc.contests[0]).toMatchObject({ id: 'u-s-senate', name: 'U.S. Senate' });
    expect(doc.contests[0]?.choices[0]).toMatchObject({
      name: 'Thomas R. Carper',
      party: 'Libertarian',
    });
  });

  it('refuses a mappings file of the wrong shape', () => {
    expect(() => parseNameMappings('{"party":{}}', 'm.json')).toThrow(
      expect.objectContaining({ code: 'MAPPINGS_INVALID' }),
    );
    expect(() => parseNameMappings('nope', 'm.json')).toThrow(ResultsError);
  });

  it('refuses files without the required columns, naming file and line', () => {
    const error = (() => {
      try {
        parseOpenElectionsCsv('county,precinct,votes\nA,B,1\n', FILE);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ResultsError);
    expect(error).toMatchObject({ code: 'COLUMNS_MISSING', file: FILE, line: 1 });
    expect((error as Error).message).toContain('"office", "candidate"');
  });

  it('refuses binary input and unterminated quotes', () => {
    expect(() => parseOpenElectionsCsv('a,b\n\u0000\u0001', FILE)).toThrow(
      expect.objectContaining({ code: 'FILE_MALFORMED', line: 2 }),
    );
    expect(() => parseOpenElectionsCsv('county,office\n"A,B\n', FILE)).toThrow(
      expect.objectContaining({ code: 'FILE_MALFORMED', line: 2 }),
    );
    expect(() => parseOpenElectionsCsv('', FILE)).toThrow(
      expect.objectContaining({ code: 'FILE_MALFORMED' }),
    );
  });

  it('needs an election id when the file name does not give one', () => {
    expect(() =>
      parseOpenElectionsCsv('county,office,candidate,votes\nA,B,C,1\n', 'results.csv'),
    ).toThrow(expect.objectContaining({ code: 'ELECTION_INVALID' }));
    const doc = parseOpenElectionsCsv('county,office,candidate,votes\nA,B,C,1\n', 'results.csv', {
      electionId: 'e1',
      electionDate: '2024-11-05',
      electionName: 'General',
    });
    expect(doc.election).toEqual({ id: 'e1', name: 'General', date: '2024-11-05', state: null });
  });
});

describe('parseMedslCsv', () => {
  it('checks modes against TOTAL and computes a total where only modes are given', () => {
    const head =
      'year,state,state_po,office,candidate,party_detailed,writein,mode,votes,totalvotes,stage';
    const doc = parseMedslCsv(
      [
        head,
        '2024,X,XX,US SENATE,A,DEMOCRAT,FALSE,ABSENTEE,5,20,GEN',
        '2024,X,XX,US SENATE,A,DEMOCRAT,FALSE,ELECTION DAY,6,20,GEN',
        '2024,X,XX,US SENATE,A,DEMOCRAT,FALSE,TOTAL,12,20,GEN',
        '2024,X,XX,US SENATE,B,REPUBLICAN,FALSE,ABSENTEE,1,20,GEN',
        '2024,X,XX,US SENATE,B,REPUBLICAN,FALSE,PROVISIONAL,2,20,GEN',
        '2024,X,XX,US SENATE,UNDERVOTES,,FALSE,TOTAL,1,20,GEN',
      ].join('\n'),
      'x.csv',
    );
    expect(doc.anomalies.map((a) => `${a.source.line} ${a.code}`)).toEqual([
      '4 MODES_DO_NOT_ADD_UP',
    ]);
    expect(
      doc.counts.find((c) => c.choiceId === 'b--republican' && c.mode === 'total'),
    ).toMatchObject({
      votes: 3,
      computed: true,
    });
    expect(doc.election).toMatchObject({ id: 'xx-2024-11-05-general', date: '2024-11-05' });
    expect(doc.contests[0]?.choices.find((c) => c.name === 'UNDERVOTES')).toMatchObject({
      nonVote: 'undervotes',
    });
  });
});
