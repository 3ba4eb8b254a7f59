// MEDSL (MIT Election Data + Science Lab) CSV, per its codebook: state-level files (one row per
// state, office, candidate and mode, with the contest's `totalvotes`) and precinct files (a
// state's precincts with county and FIPS codes, `FLOATING` pseudo-precincts for counts reported
// above the precinct). Values are upper case; districts are zero-padded or `statewide`.
import { basename } from 'node:path';
import { countyRemainderUnit, createDocumentBuilder, slug } from './builder.ts';
import { parseCsvTable, requireColumns } from './csv.ts';
import type { CsvRecord } from './csv.ts';
import { ResultsError } from './errors.ts';
import type {
  Election,
  ReadResultsOptions,
  ResultsDocumentWithTurnout,
  VoteMode,
} from './model.ts';
import { resolveElection } from './openelections.ts';
import { decodeText, readSourceBytes } from './source-file.ts';
import { isZip, readZip } from './zip.ts';

/** MEDSL `mode` values and the mode each is read as; anything else is `other`. */
export const MEDSL_MODES: Readonly<Record<string, VoteMode>> = {
  TOTAL: 'total',
  // The codebook knows no NA; Arizona's 2024 rows carry it with the whole count, so it is read
  // as the total (there is no other row for those choices).
  NA: 'total',
  'ELECTION DAY': 'election-day',
  'IN PERSON': 'election-day',
  ABSENTEE: 'absentee',
  'ABSENTEE BY MAIL': 'absentee',
  MAIL: 'mail',
  'MAIL-IN': 'mail',
  'BY MAIL': 'mail',
  EARLY: 'early',
  'EARLY VOTING': 'early',
  'ONE-STOP': 'early',
  PROVISIONAL: 'provisional',
};

const REQUIRED = ['office', 'candidate', 'votes', 'state_po'] as const;

/** The first Tuesday after the first Monday of November: a US general election's date. */
export function generalElectionDate(year: number): string {
  const first = new Date(Date.UTC(year, 10, 1)).getUTCDay();
  const firstMonday = 1 + ((8 - first) % 7);
  return `${year}-11-${String(firstMonday + 1).padStart(2, '0')}`;
}

/**
 * Parses MEDSL CSV text (state-level or precinct-level).
 * Attacker-controlled: `text` is an uploaded file; rows are placed only by header names.
 * @throws ResultsError FILE_MALFORMED, COLUMNS_MISSING, ELECTION_INVALID
 */
export function parseMedslCsv(
  text: string,
  file: string,
  options: ReadResultsOptions = {},
): ResultsDocumentWithTurnout {
  const { headerLine, keys, rows } = parseCsvTable(text, file);
  requireColumns(
    REQUIRED.filter((k) => !keys.includes(k)),
    { file, format: 'MEDSL CSV', headerLine, expected: "the codebook's columns" },
  );
  const index = new Map(keys.map((k, i) => [k, i]));
  const field = (r: CsvRecord, name: string): string => {
    const i = index.get(name);
    return i === undefined ? '' : (r.fields[i] ?? '').trim();
  };
  const election = resolveElection(deriveElection(rows, field), options, file);
  const b = createDocumentBuilder({
    election,
    format: 'medsl-csv',
    file,
    mappings: options.mappings,
  });
  const precinctLevel = index.has('precinct');
  const ballots = new Map<string, { votes: number; line: number }>();
  for (const r of rows) {
    if (r.fields.length !== keys.length) {
      b.anomaly(
        'ROW_UNPLACED',
        r.line,
        `the row has ${r.fields.length} fields, the header has ${keys.length}`,
      );
      continue;
    }
    const po = field(r, 'state_po');
    const office = field(r, 'office');
    const candidate = field(r, 'candidate');
    if (!/^[A-Z]{2}$/i.test(po) || office === '' || candidate === '') {
      b.anomaly('ROW_UNPLACED', r.line, 'the row has no state code, office or candidate');
      continue;
    }
    const stateId = `state:${po.toLowerCase()}`;
    b.unit({
      id: stateId,
      name: field(r, 'state') || po.toUpperCase(),
      level: 'state',
      parentId: null,
      fips: null,
    });
    let unitId = stateId;
    if (precinctLevel) {
      const county = field(r, 'county_name');
      const precinct = field(r, 'precinct');
      if (/FLOATING/i.test(county)) {
        // Counts the state reported above its counties.
        unitId = `other:${po.toLowerCase()}`;
        b.unit({
          id: unitId,
          name: `${po.toUpperCase()} (not by county)`,
          level: 'other',
          parentId: stateId,
          fips: null,
        });
      } else if (county === '') {
        b.anomaly('ROW_UNPLACED', r.line, 'the row has no county');
        continue;
      } else {
        const countyId = `county:${slug(county)}`;
        const fips = field(r, 'county_fips');
        b.unit({
          id: countyId,
          name: county,
          level: 'county',
          parentId: stateId,
          fips: /^\d{5}$/.test(fips) ? fips : null,
        });
        if (precinct === '' || /FLOATING/i.test(precinct)) {
          const remainder = countyRemainderUnit(county, countyId);
          unitId = remainder.id;
          b.unit(remainder);
        } else {
          unitId = `precinct:${slug(county)}/${slug(precinct)}`;
          b.unit({ id: unitId, name: precinct, level: 'precinct', parentId: countyId, fips: null });
        }
      }
    }
    const magnitude = Number.parseInt(field(r, 'magnitude'), 10);
    const contestId = b.contest(
      office,
      field(r, 'district'),
      Number.isSafeInteger(magnitude) && magnitude > 0 ? magnitude : 1,
    );
    const party = field(r, 'party_detailed') || field(r, 'party_simplified');
    const choiceId = b.choice(contestId, candidate, party, /^true$/i.test(field(r, 'writein')));
    const rawMode = field(r, 'mode').toUpperCase() || 'TOTAL';
    const mode = MEDSL_MODES[rawMode] ?? 'other';
    b.count({ contestId, choiceId, unitId }, mode, field(r, 'votes'), r.line, rawMode);
    // `totalvotes` is the contest's ballots in the unit; the largest over the unit's contests
    // is a lower bound of its ballots cast (used for turnout and the ballot-secrecy rule).
    const total = Number(field(r, 'totalvotes'));
    if (index.has('totalvotes') && Number.isSafeInteger(total) && total >= 0) {
      const seen = ballots.get(unitId);
      if (seen === undefined || total > seen.votes)
        ballots.set(unitId, { votes: total, line: r.line });
    }
  }
  for (const [unitId, t] of ballots) b.turnout(unitId, 'ballotsCast', String(t.votes), t.line);
  return b.finish();
}

function deriveElection(
  rows: readonly CsvRecord[],
  field: (r: CsvRecord, name: string) => string,
): Partial<Election> {
  const first = rows[0];
  if (first === undefined) return {};
  const states = new Set(rows.map((r) => field(r, 'state_po').toUpperCase()));
  const state = states.size === 1 ? (states.values().next().value ?? null) : null;
  const year = Number.parseInt(field(first, 'year'), 10);
  const stage = field(first, 'stage').toLowerCase() || 'gen';
  const given = field(first, 'date');
  const date = /^\d{4}-\d{2}-\d{2}$/.test(given)
    ? given
    : stage === 'gen' && Number.isSafeInteger(year)
      ? generalElectionDate(year)
      : undefined;
  const scope = state === null ? 'us' : state.toLowerCase();
  const kind = stage === 'gen' ? 'general' : stage;
  return {
    ...(date === undefined ? {} : { id: `${scope}-${date}-${slug(kind)}`, date }),
    name: `${state ?? 'US'} ${kind} election ${date ?? year}`,
    state,
  };
}

/**
 * Reads a MEDSL CSV file, or a MEDSL zip holding one (MEDSL ships precinct files as
 * `<st>24.zip`); positions then name `archive.zip/entry.csv`.
 * @throws ResultsError FILE_UNREADABLE, ZIP_MALFORMED, FILE_MALFORMED, COLUMNS_MISSING,
 * ELECTION_INVALID
 */
export async function readMedslCsv(
  path: string,
  options: ReadResultsOptions = {},
): Promise<ResultsDocumentWithTurnout> {
  const bytes = await readSourceBytes(path);
  const name = options.sourceName ?? basename(path);
  if (!isZip(bytes)) return parseMedslCsv(decodeText(bytes), name, options);
  const csvs = readZip(bytes, name).filter(
    (e) => /\.csv$/i.test(e.name) && !e.name.startsWith('__MACOSX/'),
  );
  const entry = csvs[0];
  if (entry === undefined || csvs.length > 1) {
    throw new ResultsError(
      'FILE_MALFORMED',
      `Cannot read zip "${name}": it holds ${csvs.length} CSV files, expected one`,
      { file: name },
    );
  }
  return parseMedslCsv(decodeText(entry.bytes), `${name}/${entry.name}`, options);
}
