/**
 * The `voter_import` table: one row per import run, the resumption point of a crashed run and
 * the outbox of its log entry.
 *
 * The row is updated in the same transaction as each batch of voters, so `last_line` and the
 * counts always describe exactly what is committed: a run killed at any moment resumes after
 * `last_line` without writing any voter twice. `logged_at` stays null until the run's log entry
 * is durable, so an entry lost to a crash between the final commit and the append is appended
 * by the next run.
 */
import type { Migration } from '../../store/index.ts';

/** States of an import run. */
export const IMPORT_STATUSES = ['running', 'done'] as const;

/** One of {@link IMPORT_STATUSES}. */
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

/** A row of `voter_import` as Kysely sees it. */
export interface VoterImportTable {
  /** Random id (32 hex digits); names the quarantine file and the voters' last-seen import. */
  id: string;
  /** SHA-256 of the whole file, hex: a run of the same bytes resumes a running import. */
  file_sha256: string;
  file_bytes: number;
  /** Id of the layout used (`nc`, `nc-legacy`, … or a policy file's id). */
  layout: string;
  status: ImportStatus;
  /** OS user name or `--operator`; recorded in the log entry. */
  operator: string;
  started_at: string;
  finished_at: string | null;
  logged_at: string | null;
  /** Last physical line of the file whose outcome is committed (0: none yet). */
  last_line: number;
  /** Data rows committed so far, quarantined ones included. */
  rows: number;
  added: number;
  changed: number;
  unchanged: number;
  removed: number;
  quarantined: number;
  /** JSON array of the jurisdictions seen so far, sorted: where removals are looked for. */
  jurisdictions: string;
}

/** The importer's tables. */
export interface ImportTables {
  voter_import: VoterImportTable;
}

/** Migrations of the importer's tables; they run after the voter store's. */
export const IMPORT_MIGRATIONS: readonly Migration[] = [
  {
    name: 'voters-import-0001-create-voter-import',
    async up(db) {
      await db.schema
        .createTable('voter_import')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('file_sha256', 'text', (c) => c.notNull())
        .addColumn('file_bytes', 'bigint', (c) => c.notNull())
        .addColumn('layout', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('operator', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('logged_at', 'text')
        .addColumn('last_line', 'integer', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addColumn('added', 'integer', (c) => c.notNull())
        .addColumn('changed', 'integer', (c) => c.notNull())
        .addColumn('unchanged', 'integer', (c) => c.notNull())
        .addColumn('removed', 'integer', (c) => c.notNull())
        .addColumn('quarantined', 'integer', (c) => c.notNull())
        .addColumn('jurisdictions', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('voter_import_file')
        .on('voter_import')
        .columns(['file_sha256', 'status'])
        .execute();
    },
  },
];
