// Storing results: an import writes one file's units, contests, choices, counts, anomalies and
// turnout in one transaction, after deleting what an earlier import of the same file wrote, so
// that importing a file twice leaves the same rows as importing it once, and a failed import
// leaves what was there before. Loading merges an election's files back into one model.
import { bulkInsert, withTransaction } from '../store/index.ts';
import type { Queryable } from '../store/index.ts';
import { ResultsError } from './errors.ts';
import { ELECTION_ID_PATTERN } from './openelections.ts';
import type {
  Anomaly,
  AnomalyCode,
  ChoiceWithTally,
  Contest,
  ContestKind,
  Count,
  Election,
  NonVoteKind,
  ReportingUnit,
  ResultsDocumentWithTurnout,
  ResultsFormat,
  UnitLevel,
  UnitTurnout,
  VoteMode,
} from './model.ts';
import type { ResultsTables } from './schema.ts';

// The columns of each per-file table after its key (`election_id`, `file_name`): one list
// that importResults writes and loadElection reads, so the two cannot drift apart.
const UNIT_COLUMNS = ['unit_id', 'name', 'level', 'parent_id', 'fips', 'position'] as const;
const CONTEST_COLUMNS = ['contest_id', 'name', 'kind', 'district', 'vote_for', 'position'] as const;
const CHOICE_COLUMNS = [
  'contest_id',
  'choice_id',
  'name',
  'party',
  'write_in',
  'non_vote',
  'position',
] as const;
const COUNT_COLUMNS = [
  'seq',
  'contest_id',
  'choice_id',
  'unit_id',
  'mode',
  'votes',
  'computed',
  'source_file',
  'line',
] as const;
const ANOMALY_COLUMNS = ['seq', 'code', 'source_file', 'line', 'detail'] as const;
const TURNOUT_COLUMNS = ['unit_id', 'registered', 'ballots_cast', 'source_file', 'line'] as const;
const FILE_KEY = ['election_id', 'file_name'] as const;

/** What one import wrote. */
export interface ImportReport {
  readonly electionId: string;
  readonly fileName: string;
  readonly format: ResultsFormat;
  /** True when the file had been imported before and its rows were replaced. */
  readonly replaced: boolean;
  readonly units: number;
  readonly contests: number;
  readonly choices: number;
  readonly counts: number;
  readonly anomalies: number;
  /** Anomalies by code, for the import summary. */
  readonly anomaliesByCode: Readonly<Partial<Record<AnomalyCode, number>>>;
}

/** Options of {@link importResults}. */
export interface ImportResultsOptions {
  /** The key the file is stored under (its base name); importing it again replaces it. */
  readonly fileName: string;
  /** Hex SHA-256 of the file's bytes, recorded for the office. */
  readonly sha256?: string;
  /** Election name and date to store instead of the document's (and to update to). */
  readonly electionName?: string;
  readonly electionDate?: string;
  readonly now?: () => Date;
}

/**
 * Stores a read results file in its election, creating the election on first import, and
 * replacing the rows an earlier import of the same `fileName` wrote. All in one transaction.
 * @throws ResultsError ELECTION_INVALID when the election id is malformed
 * @throws StoreError when the database fails (nothing is changed then)
 */
export async function importResults(
  q: Queryable<ResultsTables>,
  document: ResultsDocumentWithTurnout,
  options: ImportResultsOptions,
): Promise<ImportReport> {
  const e = document.election;
  if (!ELECTION_ID_PATTERN.test(e.id)) {
    throw new ResultsError(
      'ELECTION_INVALID',
      `Cannot import into election "${e.id.slice(0, 64)}": malformed id`,
    );
  }
  const now = (options.now ?? (() => new Date()))().toISOString();
  const election_id = e.id;
  const file_name = options.fileName;
  return withTransaction(q, async (tx) => {
    const existing = await tx.db
      .selectFrom('results_election')
      .select(['election_id'])
      .where('election_id', '=', election_id)
      .executeTakeFirst();
    if (existing === undefined) {
      await tx.db
        .insertInto('results_election')
        .values({
          election_id,
          name: options.electionName ?? e.name,
          election_date: options.electionDate ?? e.date,
          state: e.state,
          created_at: now,
          updated_at: now,
        })
        .execute();
    } else if (options.electionName !== undefined || options.electionDate !== undefined) {
      await tx.db
        .updateTable('results_election')
        .set({
          ...(options.electionName === undefined ? {} : { name: options.electionName }),
          ...(options.electionDate === undefined ? {} : { election_date: options.electionDate }),
          updated_at: now,
        })
        .where('election_id', '=', election_id)
        .execute();
    }
    const previous = await tx.db
      .deleteFrom('results_file')
      .where('election_id', '=', election_id)
      .where('file_name', '=', file_name)
      .executeTakeFirst();
    for (const table of [
      'results_unit',
      'results_contest',
      'results_choice',
      'results_count',
      'results_anomaly',
      'results_turnout',
    ] as const) {
      await tx.db
        .deleteFrom(table)
        .where('election_id', '=', election_id)
        .where('file_name', '=', file_name)
        .execute();
    }
    const key = { election_id, file_name };
    await tx.db
      .insertInto('results_file')
      .values({
        ...key,
        format: document.format,
        sha256: options.sha256 ?? null,
        imported_at: now,
        count_rows: document.counts.length,
        anomaly_rows: document.anomalies.length,
      })
      .execute();
    await bulkInsert(tx, {
      table: 'results_unit',
      columns: [...FILE_KEY, ...UNIT_COLUMNS],
      rows: document.units.map((u, position) => ({
        ...key,
        unit_id: u.id,
        name: u.name,
        level: u.level,
        parent_id: u.parentId,
        fips: u.fips,
        position,
      })),
    });
    await bulkInsert(tx, {
      table: 'results_contest',
      columns: [...FILE_KEY, ...CONTEST_COLUMNS],
      rows: document.contests.map((c, position) => ({
        ...key,
        contest_id: c.id,
        name: c.name,
        kind: c.kind,
        district: c.district,
        vote_for: c.voteFor,
        position,
      })),
    });
    await bulkInsert(tx, {
      table: 'results_choice',
      columns: [...FILE_KEY, ...CHOICE_COLUMNS],
      rows: document.contests.flatMap((c) =>
        c.choices.map((ch: ChoiceWithTally, position) => ({
          ...key,
          contest_id: c.id,
          choice_id: ch.id,
          name: ch.name,
          party: ch.party,
          write_in: ch.writeIn ? 1 : 0,
          non_vote: ch.nonVote ?? null,
          position,
        })),
      ),
    });
    await bulkInsert(tx, {
      table: 'results_count',
      columns: [...FILE_KEY, ...COUNT_COLUMNS],
      postgresTypes: [
        'text',
        'text',
        'integer',
        'text',
        'text',
        'text',
        'text',
        'integer',
        'integer',
        'text',
        'integer',
      ],
      rows: document.counts.map((c, seq) => ({
        ...key,
        seq,
        contest_id: c.contestId,
        choice_id: c.choiceId,
        unit_id: c.unitId,
        mode: c.mode,
        votes: c.votes,
        computed: c.computed ? 1 : 0,
        source_file: c.source.file,
        line: c.source.line,
      })),
    });
    await bulkInsert(tx, {
      table: 'results_anomaly',
      columns: [...FILE_KEY, ...ANOMALY_COLUMNS],
      rows: document.anomalies.map((a, seq) => ({
        ...key,
        seq,
        code: a.code,
        source_file: a.source.file,
        line: a.source.line,
        detail: a.detail,
      })),
    });
    await bulkInsert(tx, {
      table: 'results_turnout',
      columns: [...FILE_KEY, ...TURNOUT_COLUMNS],
      rows: (document.turnout ?? []).map((t) => ({
        ...key,
        unit_id: t.unitId,
        registered: t.registered,
        ballots_cast: t.ballotsCast,
        source_file: t.source.file,
        line: t.source.line,
      })),
    });
    const anomaliesByCode: Partial<Record<AnomalyCode, number>> = {};
    for (const a of document.anomalies)
      anomaliesByCode[a.code] = (anomaliesByCode[a.code] ?? 0) + 1;
    return {
      electionId: election_id,
      fileName: file_name,
      format: document.format,
      replaced: Number(previous.numDeletedRows) > 0,
      units: document.units.length,
      contests: document.contests.length,
      choices: document.contests.reduce((s, c) => s + c.choices.length, 0),
      counts: document.counts.length,
      anomalies: document.anomalies.length,
      anomaliesByCode,
    };
  });
}

/** A stored file of an election. */
export interface StoredFile {
  readonly fileName: string;
  readonly format: ResultsFormat;
  readonly sha256: string | null;
  readonly importedAt: string;
}

/**
 * An election as stored: its files merged into one model. A unit, contest or choice defined by
 * several files takes the first file's definition (files in import order); contests gather the
 * choices of every file.
 */
export interface ElectionData {
  readonly election: Election;
  readonly files: readonly StoredFile[];
  readonly units: readonly ReportingUnit[];
  readonly contests: readonly Contest[];
  readonly counts: readonly Count[];
  readonly anomalies: readonly Anomaly[];
  readonly turnout: readonly UnitTurnout[];
}

/**
 * Reads an election's results.
 * @throws ResultsError ELECTION_NOT_FOUND
 * @throws StoreError when the database fails
 */
export async function loadElection(
  q: Queryable<ResultsTables>,
  electionId: string,
): Promise<ElectionData> {
  return withTransaction(
    q,
    async (tx) => {
      const e = await tx.db
        .selectFrom('results_election')
        .select(['election_id', 'name', 'election_date', 'state'])
        .where('election_id', '=', electionId)
        .executeTakeFirst();
      if (e === undefined) {
        throw new ResultsError(
          'ELECTION_NOT_FOUND',
          `Cannot find election "${electionId.slice(0, 64)}"`,
        );
      }
      const files = await tx.db
        .selectFrom('results_file')
        .select(['file_name', 'format', 'sha256', 'imported_at'])
        .where('election_id', '=', electionId)
        .orderBy('imported_at')
        .orderBy('file_name')
        .execute();
      const order = new Map(files.map((f, i) => [f.file_name, i]));
      const byFile = <T extends { file_name: string }>(rows: T[], tie: (r: T) => number): T[] =>
        rows.sort(
          (a, b) =>
            (order.get(a.file_name) ?? 0) - (order.get(b.file_name) ?? 0) || tie(a) - tie(b),
        );
      const unitRows = byFile(
        await tx.db
          .selectFrom('results_unit')
          .select(['file_name', ...UNIT_COLUMNS])
          .where('election_id', '=', electionId)
          .execute(),
        (r) => r.position,
      );
      const units = new Map<string, ReportingUnit>();
      for (const u of unitRows) {
        if (!units.has(u.unit_id)) {
          units.set(u.unit_id, {
            id: u.unit_id,
            name: u.name,
            level: u.level as UnitLevel,
            parentId: u.parent_id,
            fips: u.fips,
          });
        }
      }
      const contestRows = byFile(
        await tx.db
          .selectFrom('results_contest')
          .select(['file_name', ...CONTEST_COLUMNS])
          .where('election_id', '=', electionId)
          .execute(),
        (r) => r.position,
      );
      const choiceRows = byFile(
        await tx.db
          .selectFrom('results_choice')
          .select(['file_name', ...CHOICE_COLUMNS])
          .where('election_id', '=', electionId)
          .execute(),
        (r) => r.position,
      );
      const choices = new Map<string, Map<string, ChoiceWithTally>>();
      for (const c of choiceRows) {
        let m = choices.get(c.contest_id);
        if (m === undefined) {
          m = new Map();
          choices.set(c.contest_id, m);
        }
        if (!m.has(c.choice_id)) {
          m.set(c.choice_id, {
            id: c.choice_id,
            name: c.name,
            party: c.party,
            writeIn: c.write_in === 1,
            ...(c.non_vote === null ? {} : { nonVote: c.non_vote as NonVoteKind }),
          });
        }
      }
      const contests = new Map<string, Contest>();
      for (const c of contestRows) {
        if (contests.has(c.contest_id)) continue;
        contests.set(c.contest_id, {
          id: c.contest_id,
          name: c.name,
          kind: c.kind as ContestKind,
          district: c.district,
          voteFor: c.vote_for,
          choices: [...(choices.get(c.contest_id)?.values() ?? [])],
        });
      }
      const counts = byFile(
        await tx.db
          .selectFrom('results_count')
          .select(['file_name', ...COUNT_COLUMNS])
          .where('election_id', '=', electionId)
          .execute(),
        (r) => r.seq,
      ).map((c): Count => ({
        contestId: c.contest_id,
        choiceId: c.choice_id,
        unitId: c.unit_id,
        mode: c.mode as VoteMode,
        votes: c.votes === null ? null : Number(c.votes),
        computed: c.computed === 1,
        source: { file: c.source_file, line: c.line },
      }));
      const anomalies = byFile(
        await tx.db
          .selectFrom('results_anomaly')
          .select(['file_name', ...ANOMALY_COLUMNS])
          .where('election_id', '=', electionId)
          .execute(),
        (r) => r.seq,
      ).map((a): Anomaly => ({
        code: a.code as AnomalyCode,
        source: { file: a.source_file, line: a.line },
        detail: a.detail,
      }));
      const turnout = byFile(
        await tx.db
          .selectFrom('results_turnout')
          .select(['file_name', ...TURNOUT_COLUMNS])
          .where('election_id', '=', electionId)
          .execute(),
        (r) => r.line,
      ).map((t): UnitTurnout => ({
        unitId: t.unit_id,
        registered: t.registered === null ? null : Number(t.registered),
        ballotsCast: t.ballots_cast === null ? null : Number(t.ballots_cast),
        source: { file: t.source_file, line: t.line },
      }));
      return {
        election: { id: e.election_id, name: e.name, date: e.election_date, state: e.state },
        files: files.map((f) => ({
          fileName: f.file_name,
          format: f.format as ResultsFormat,
          sha256: f.sha256,
          importedAt: f.imported_at,
        })),
        units: [...units.values()],
        contests: [...contests.values()],
        counts,
        anomalies,
        turnout,
      };
    },
    { readOnly: true, isolation: 'repeatable read' },
  );
}
