// OpenElections CSV (https://github.com/openelections/docs, archivestandardization.md): one row
// per candidate per reporting unit, columns found by header name in any order, optional
// vote-mode columns with or without a `votes` total, `*` for counts the state suppressed.
import { basename } from 'node:path';
import { countyRemainderUnit, createDocumentBuilder, slug } from './builder.ts';
import type { DocumentBuilder } from './builder.ts';
import { parseCsvTable, requireColumns } from './csv.ts';
import { ResultsError } from './errors.ts';
import type {
  Election,
  ReadResultsOptions,
  ResultsDocumentWithTurnout,
  VoteMode,
} from './model.ts';
import { mappingKey } from './mappings.ts';
import { decodeText, readSourceBytes } from './source-file.ts';

const COLUMN_NAMES = {
  county: ['county', 'county_name', 'parish'],
  precinct: ['precinct', 'election_district', 'precinct_name', 'ward'],
  office: ['office'],
  district: ['district'],
  party: ['party'],
  candidate: ['candidate', 'candidate_name'],
  votes: ['votes', 'total_votes'],
} as const;

/** A precinct value that is really the county's total, as some precinct files add one per county. */
const COUNTY_TOTAL_ROW = /^(?:county\s+)?totals?$/i;

/** Vote-mode columns OpenElections files use, by folded header name. */
export const OPENELECTIONS_MODE_COLUMNS: Readonly<Record<string, VoteMode>> = {
  election_day: 'election-day',
  election_day_votes: 'election-day',
  early_voting: 'early',
  early_vote: 'early',
  early: 'early',
  early_votes: 'early',
  one_stop: 'early',
  absentee: 'absentee',
  absentee_votes: 'absentee',
  absentee_by_mail: 'absentee',
  mail: 'mail',
  mail_in: 'mail',
  vote_by_mail: 'mail',
  by_mail: 'mail',
  provisional: 'provisional',
  provisional_votes: 'provisional',
};

/** Offices (folded) whose rows are turnout figures, not a contest. */
const TURNOUT_OFFICES: Readonly<Record<string, 'registered' | 'ballotsCast'>> = {
  'REGISTERED VOTERS': 'registered',
  'BALLOTS CAST': 'ballotsCast',
  'TOTAL BALLOTS CAST': 'ballotsCast',
};

/** What an OpenElections file name says: `YYYYMMDD__st__[party__][special__]type__[jur__]level.csv`. */
export function electionFromFileName(name: string): Election | undefined {
  const m =
    /^(\d{4})(\d{2})(\d{2})__([a-z]{2})__(.+?)(?:__(?:county|precinct|state|municipality|ward))?\.csv$/i.exec(
      name,
    );
  if (m === null) return undefined;
  const [, y, mo, d, st, rest] = m;
  if (
    y === undefined ||
    mo === undefined ||
    d === undefined ||
    st === undefined ||
    rest === undefined
  )
    return undefined;
  const date = `${y}-${mo}-${d}`;
  const kind = rest.split('__').join(' ');
  return {
    id: `${st.toLowerCase()}-${date}-${slug(kind)}`,
    name: `${st.toUpperCase()} ${kind} election ${date}`,
    date,
    state: st.toUpperCase(),
  };
}

/** Election ids: letters, digits, `-`, `_`; what `results import --election` accepts. */
export const ELECTION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * The election of a file: the derived one with the options laid over it.
 * @throws ResultsError ELECTION_INVALID when no id or date can be had, or they are malformed
 */
export function resolveElection(
  derived: Partial<Election>,
  options: ReadResultsOptions,
  file: string,
): Election {
  const id = options.electionId ?? derived.id;
  const date = options.electionDate ?? derived.date;
  if (id === undefined || !ELECTION_ID_PATTERN.test(id)) {
    throw new ResultsError(
      'ELECTION_INVALID',
      `Cannot read "${file}": no valid election id (give one: letters, digits, "-" and "_")`,
      { file },
    );
  }
  if (date === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    throw new ResultsError(
      'ELECTION_INVALID',
      `Cannot read "${file}": no election date (YYYY-MM-DD)`,
      {
        file,
      },
    );
  }
  return {
    id,
    name: options.electionName ?? derived.name ?? id,
    date,
    state: derived.state ?? null,
  };
}

function findColumn(keys: readonly string[], names: readonly string[]): number | undefined {
  const i = keys.findIndex((k) => names.includes(k));
  return i < 0 ? undefined : i;
}

/**
 * Parses OpenElections CSV text.
 * Attacker-controlled: `text` is an uploaded file. Rows are only ever placed by the header's
 * column names; a row that cannot be placed is reported (ROW_UNPLACED) and nothing is guessed.
 * @throws ResultsError FILE_MALFORMED (not CSV), COLUMNS_MISSING (no office, candidate, county
 * or count column), ELECTION_INVALID
 */
export function parseOpenElectionsCsv(
  text: string,
  file: string,
  options: ReadResultsOptions = {},
): ResultsDocumentWithTurnout {
  const { headerLine, keys, rows } = parseCsvTable(text, file);
  const col = {
    county: findColumn(keys, COLUMN_NAMES.county),
    precinct: findColumn(keys, COLUMN_NAMES.precinct),
    office: findColumn(keys, COLUMN_NAMES.office),
    district: findColumn(keys, COLUMN_NAMES.district),
    party: findColumn(keys, COLUMN_NAMES.party),
    candidate: findColumn(keys, COLUMN_NAMES.candidate),
    votes: findColumn(keys, COLUMN_NAMES.votes),
  };
  const modeColumns = keys.flatMap((k, i) => {
    const mode = OPENELECTIONS_MODE_COLUMNS[k];
    return mode === undefined ? [] : [{ index: i, mode }];
  });
  const missing = [
    col.office === undefined ? 'office' : undefined,
    col.candidate === undefined ? 'candidate' : undefined,
    col.county === undefined && col.precinct === undefined ? 'county' : undefined,
    col.votes === undefined && modeColumns.length === 0 ? 'votes' : undefined,
  ].filter((m) => m !== undefined);
  requireColumns(missing, {
    file,
    format: 'OpenElections CSV',
    headerLine,
    expected: 'a header like "county,precinct,office,district,party,candidate,votes"',
  });
  const election = resolveElection(electionFromFileName(file) ?? {}, options, file);
  const b = createDocumentBuilder({
    election,
    format: 'openelections-csv',
    file,
    mappings: options.mappings,
  });
  const stateId = election.state === null ? null : `state:${election.state.toLowerCase()}`;
  if (stateId !== null && election.state !== null) {
    b.unit({ id: stateId, name: election.state, level: 'state', parentId: null, fips: null });
  }
  for (const record of rows) {
    readRow(b, record.fields, record.line, keys.length, col, modeColumns, stateId);
  }
  return b.finish();
}

function readRow(
  b: DocumentBuilder,
  f: readonly string[],
  line: number,
  width: number,
  col: Readonly<Record<keyof typeof COLUMN_NAMES, number | undefined>>,
  modeColumns: readonly { index: number; mode: VoteMode }[],
  stateId: string | null,
): void {
  if (f.length !== width) {
    b.anomaly('ROW_UNPLACED', line, `the row has ${f.length} fields, the header has ${width}`);
    return;
  }
  const get = (i: number | undefined): string => (i === undefined ? '' : (f[i] ?? '').trim());
  const county = get(col.county);
  const precinct = get(col.precinct);
  const office = get(col.office);
  if (office === '') {
    b.anomaly('ROW_UNPLACED', line, 'the row has no office');
    return;
  }
  let unitId: string;
  if (county === '' && precinct === '') {
    b.anomaly('ROW_UNPLACED', line, 'the row names no county or precinct');
    return;
  }
  const countyId = county === '' ? null : `county:${slug(county)}`;
  if (countyId !== null)
    b.unit({ id: countyId, name: county, level: 'county', parentId: stateId, fips: null });
  if (col.precinct === undefined || (countyId !== null && COUNTY_TOTAL_ROW.test(precinct))) {
    // A county file, or a precinct file's county total (New Mexico's "TOTALS" rows): the
    // county's own stated count. Aggregation sums the precincts below it, so it is not counted
    // twice, and the stated figure stays in the data for the office to compare.
    unitId = countyId ?? '';
  } else if (precinct === '') {
    // A county-wide row in a precinct file (absentee, provisional…).
    const remainder = countyRemainderUnit(county, countyId);
    unitId = remainder.id;
    b.unit(remainder);
  } else {
    unitId = `precinct:${county === '' ? '_' : slug(county)}/${slug(precinct)}`;
    b.unit({
      id: unitId,
      name: precinct,
      level: 'precinct',
      parentId: countyId ?? stateId,
      fips: null,
    });
  }
  const turnoutField = TURNOUT_OFFICES[mappingKey(office)];
  if (turnoutField !== undefined) {
    b.turnout(unitId, turnoutField, get(col.votes), line);
    return;
  }
  const candidate = get(col.candidate);
  if (candidate === '') {
    b.anomaly('ROW_UNPLACED', line, `the row for "${office}" has no candidate`);
    return;
  }
  const contestId = b.contest(office, get(col.district));
  const choiceId = b.choice(contestId, candidate, get(col.party));
  const key = { contestId, choiceId, unitId };
  if (col.votes !== undefined) b.count(key, 'total', get(col.votes), line);
  for (const m of modeColumns) {
    const raw = get(m.index);
    // With a total beside them, a blank mode cell means "not broken down", not "suppressed".
    if (raw === '' && col.votes !== undefined) continue;
    b.count(key, m.mode, raw, line);
  }
}

/**
 * Reads an OpenElections CSV file.
 * @throws ResultsError FILE_UNREADABLE, FILE_MALFORMED, COLUMNS_MISSING, ELECTION_INVALID
 */
export async function readOpenElectionsCsv(
  path: string,
  options: ReadResultsOptions = {},
): Promise<ResultsDocumentWithTurnout> {
  const bytes = await readSourceBytes(path);
  return parseOpenElectionsCsv(decodeText(bytes), options.sourceName ?? basename(path), options);
}
