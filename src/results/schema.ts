// Tables of the results module. Everything is keyed by election and by the file it came from,
// so that importing a file again replaces exactly what that file brought and nothing else.
// Results are public data: nothing here is sealed. Times are ISO 8601 UTC text.
import type { Kysely } from 'kysely';
import type { DatabaseDialect, Migration } from '../store/index.ts';

/** `results_election`: one row per election the office defines. */
export interface ResultsElectionTable {
  election_id: string;
  name: string;
  election_date: string;
  state: string | null;
  created_at: string;
  updated_at: string;
}

/** `results_file`: one row per imported file of an election. */
export interface ResultsFileTable {
  election_id: string;
  /** The file's base name, as given to `results import`; re-importing it replaces it. */
  file_name: string;
  format: string;
  /** Lower-case hex SHA-256 of the file's bytes, when read from disk. */
  sha256: string | null;
  imported_at: string;
  count_rows: number;
  anomaly_rows: number;
}

/** `results_unit`: reporting units as each file defines them. */
export interface ResultsUnitTable {
  election_id: string;
  file_name: string;
  unit_id: string;
  name: string;
  level: string;
  parent_id: string | null;
  fips: string | null;
  position: number;
}

/** `results_contest`. */
export interface ResultsContestTable {
  election_id: string;
  file_name: string;
  contest_id: string;
  name: string;
  kind: string;
  district: string | null;
  vote_for: number;
  position: number;
}

/** `results_choice`. */
export interface ResultsChoiceTable {
  election_id: string;
  file_name: string;
  contest_id: string;
  choice_id: string;
  name: string;
  party: string | null;
  write_in: number;
  non_vote: string | null;
  position: number;
}

/** `results_count`: one row per count, in file order (`seq`), with its source line. */
export interface ResultsCountTable {
  election_id: string;
  file_name: string;
  seq: number;
  contest_id: string;
  choice_id: string;
  unit_id: string;
  mode: string;
  votes: number | null;
  computed: number;
  source_file: string;
  line: number;
}

/** `results_anomaly`: anomalies of each file, kept as long as the file. */
export interface ResultsAnomalyTable {
  election_id: string;
  file_name: string;
  seq: number;
  code: string;
  source_file: string;
  line: number;
  detail: string;
}

/** `results_turnout`: registration and ballots cast per unit, where a file gives them. */
export interface ResultsTurnoutTable {
  election_id: string;
  file_name: string;
  unit_id: string;
  registered: number | null;
  ballots_cast: number | null;
  source_file: string;
  line: number;
}

/** `results_publication`: every snapshot published, in sequence; never changed or deleted. */
export interface ResultsPublicationTable {
  election_id: string;
  sequence: number;
  published_at: string;
  /** Lower-case hex SHA-256 of `snapshot`'s UTF-8 bytes. */
  sha256: string;
  /** The canonical JSON (RFC 8785) of the public view, as published. */
  snapshot: string;
  /** Index of the log entry announcing it; int8 on PostgreSQL; null until the log has it. */
  log_index: number | string | null;
}

/** The tables of the results module, for `Queryable<ResultsTables>`. */
export interface ResultsTables {
  results_election: ResultsElectionTable;
  results_file: ResultsFileTable;
  results_unit: ResultsUnitTable;
  results_contest: ResultsContestTable;
  results_choice: ResultsChoiceTable;
  results_count: ResultsCountTable;
  results_anomaly: ResultsAnomalyTable;
  results_turnout: ResultsTurnoutTable;
  results_publication: ResultsPublicationTable;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the database untyped
async function createTables(db: Kysely<any>, _dialect: DatabaseDialect): Promise<void> {
  await db.schema
    .createTable('results_election')
    .addColumn('election_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('election_date', 'text', (c) => c.notNull())
    .addColumn('state', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('results_file')
    .addColumn('election_id', 'text', (c) => c.notNull().references('results_election.election_id'))
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text')
    .addColumn('imported_at', 'text', (c) => c.notNull())
    .addColumn('count_rows', 'integer', (c) => c.notNull())
    .addColumn('anomaly_rows', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('results_file_pk', ['election_id', 'file_name'])
    .execute();
  await db.schema
    .createTable('results_unit')
    .addColumn('election_id', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('unit_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('parent_id', 'text')
    .addColumn('fips', 'text')
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('results_unit_pk', ['election_id', 'file_name', 'unit_id'])
    .execute();
  await db.schema
    .createTable('results_contest')
    .addColumn('election_id', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('contest_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('district', 'text')
    .addColumn('vote_for', 'integer', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('results_contest_pk', ['election_id', 'file_name', 'contest_id'])
    .execute();
  await db.schema
    .createTable('results_choice')
    .addColumn('election_id', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('contest_id', 'text', (c) => c.notNull())
    .addColumn('choice_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('party', 'text')
    .addColumn('write_in', 'integer', (c) => c.notNull())
    .addColumn('non_vote', 'text')
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('results_choice_pk', [
      'election_id',
      'file_name',
      'contest_id',
      'choice_id',
    ])
    .execute();
  await db.schema
    .createTable('results_count')
    .addColumn('election_id', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('contest_id', 'text', (c) => c.notNull())
    .addColumn('choice_id', 'text', (c) => c.notNull())
    .addColumn('unit_id', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('votes', 'integer')
    .addColumn('computed', 'integer', (c) => c.notNull())
    .addColumn('source_file', 'text', (c) => c.notNull())
    .addColumn('line', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('results_count_pk', ['election_id', 'file_name', 'seq'])
    .execute();
  await db.schema
    .createTable('results_anomaly')
    .addColumn('election_id', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('source_file', 'text', (c) => c.notNull())
    .addColumn('line', 'integer', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('results_anomaly_pk', ['election_id', 'file_name', 'seq'])
    .execute();
  await db.schema
    .createTable('results_turnout')
    .addColumn('election_id', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('unit_id', 'text', (c) => c.notNull())
    .addColumn('registered', 'integer')
    .addColumn('ballots_cast', 'integer')
    .addColumn('source_file', 'text', (c) => c.notNull())
    .addColumn('line', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('results_turnout_pk', ['election_id', 'file_name', 'unit_id'])
    .execute();
  await db.schema
    .createTable('results_publication')
    .addColumn('election_id', 'text', (c) => c.notNull().references('results_election.election_id'))
    .addColumn('sequence', 'integer', (c) => c.notNull())
    .addColumn('published_at', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('snapshot', 'text', (c) => c.notNull())
    .addColumn('log_index', 'bigint')
    .addPrimaryKeyConstraint('results_publication_pk', ['election_id', 'sequence'])
    .execute();
}

/** Migrations of the results module, in order. They depend on no other module's tables. */
export const RESULTS_MIGRATIONS: readonly Migration[] = [
  { name: 'results-0001-create-tables', up: createTables },
];
