// The record of every public export of the voter roll (docs/design/exports.md): who received
// it, why, when, what it held, and what trace needs to re-derive its watermark. No voter's data
// is stored here: canaries are synthetic records, kept only by id and keyed fingerprint.
import type { Migration } from '../store/index.ts';
import type { VotersTables } from './schema.ts';

/** One row of `voter_export`: one export. JSON columns hold arrays written by export.ts. */
export interface VoterExportTable {
  /** 32 random hex digits; also in the log entry of the export. */
  export_id: string;
  /** The organisation the official named. */
  recipient: string;
  /** The purpose the recipient stated, as the official recorded it. */
  purpose: string;
  /** ISO time the export was made. */
  created_at: string;
  /** Id of the layout the file is written in (`nc`, `oh`, …). */
  layout_id: string;
  /** JSON array of the county codes exported; `[]` for the whole roll. */
  jurisdictions: string;
  /** JSON array of the column names of the file, in file order (public columns only). */
  columns: string;
  /** Real voter rows in the file (canaries not counted). */
  record_count: number;
  /** JSON array of `{ "id": voter id, "digest": canaryDigest }`, one per canary record. */
  canaries: string;
  /** The marking scheme (watermark.ts `MARK_SCHEME`). */
  mark_scheme: string;
  /** Version of the key ring's stable secret the watermark key came from. */
  mark_key_version: number;
  /** Rows of the file that carry at least one fingerprint mark. */
  marked_rows: number;
}

/** The tables export and trace use: the voter store's and `voter_export`. */
export interface ExportTables extends VotersTables {
  voter_export: VoterExportTable;
}

/** Migrations of the export record, in order; they run after VOTERS_MIGRATIONS. */
export const EXPORT_MIGRATIONS: readonly Migration[] = [
  {
    name: 'voters-export-0001-create-voter-export',
    async up(db) {
      await db.schema
        .createTable('voter_export')
        .addColumn('export_id', 'text', (c) => c.primaryKey())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('layout_id', 'text', (c) => c.notNull())
        .addColumn('jurisdictions', 'text', (c) => c.notNull())
        .addColumn('columns', 'text', (c) => c.notNull())
        .addColumn('record_count', 'integer', (c) => c.notNull())
        .addColumn('canaries', 'text', (c) => c.notNull())
        .addColumn('mark_scheme', 'text', (c) => c.notNull())
        .addColumn('mark_key_version', 'integer', (c) => c.notNull())
        .addColumn('marked_rows', 'integer', (c) => c.notNull())
        .execute();
    },
  },
];
